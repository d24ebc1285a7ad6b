import type { Database } from "../db/client";
import { AppError } from "../errors";

export interface ProjectSummary {
  slug: string;
  name: string;
  memories: number;
  openIssues: number;
  lastUpdatedAt: string | null;
}

/** Projects with counts of their active memories and open issues, most recently used first. */
export async function listProjects(db: Database): Promise<ProjectSummary[]> {
  const result = await db.execute(
    `
    SELECT p.slug, p.name,
      COUNT(m.seq) AS memories,
      COALESCE(SUM(m.issue_status = 'open'), 0) AS open_issues,
      MAX(m.updated_at) AS last_updated
    FROM projects p LEFT JOIN memories m ON m.project = p.slug AND m.status = 'active'
    GROUP BY p.slug
    ORDER BY last_updated IS NULL, last_updated DESC, p.slug`,
    "read",
  );
  return result.rows.map((row) => ({
    slug: String(row.slug),
    name: String(row.name),
    memories: Number(row.memories),
    openIssues: Number(row.open_issues),
    lastUpdatedAt: row.last_updated == null ? null : new Date(Number(row.last_updated)).toISOString(),
  }));
}

export async function createProject(
  db: Database,
  slug: string,
  name: string | undefined,
  now = Date.now(),
): Promise<{ created: boolean }> {
  const result = await db.execute(
    {
      sql: "INSERT OR IGNORE INTO projects (slug, name, created_at) VALUES (?, ?, ?)",
      args: [slug, name ?? slug, now],
    },
    "write",
  );
  return { created: result.rowsAffected === 1 };
}

/**
 * Rename a project's slug everywhere it is used, in one write batch (one
 * transaction). Refuses to merge into an existing project: that would be a
 * different operation with consequences (duplicates) the caller should choose
 * deliberately. Every update carries the same condition — `from` exists and
 * `to` does not — so when the first statement shows a refusal, the batch has
 * changed nothing; the projects row moves last so the condition holds for
 * the statements before it.
 */
export async function renameProject(db: Database, from: string, to: string, name?: string): Promise<{ moved: number }> {
  const renamable =
    "EXISTS (SELECT 1 FROM projects WHERE slug = ?) AND NOT EXISTS (SELECT 1 FROM projects WHERE slug = ?)";
  const [existing, moved] = await db.batch(
    [
      { sql: "SELECT slug FROM projects WHERE slug IN (?, ?)", args: [from, to] },
      { sql: `UPDATE memories SET project = ? WHERE project = ? AND ${renamable}`, args: [to, from, from, to] },
      { sql: `UPDATE work_sessions SET project = ? WHERE project = ? AND ${renamable}`, args: [to, from, from, to] },
      {
        sql: `UPDATE projects SET slug = ?, name = ? WHERE slug = ? AND ${renamable}`,
        args: [to, name ?? to, from, from, to],
      },
    ],
    "write",
  );
  const slugs = new Set(existing?.rows.map((row) => String(row.slug)));
  if (!slugs.has(from)) throw new AppError("not_found", `project: no project ${from}`, { code: "project_not_found" });
  if (slugs.has(to))
    throw new AppError("conflict", `new_slug: project ${to} already exists`, { code: "project_exists" });
  return { moved: moved?.rowsAffected ?? 0 };
}
