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
  const result = await db.execute(`
    SELECT p.slug, p.name,
      COUNT(m.seq) AS memories,
      COALESCE(SUM(m.issue_status = 'open'), 0) AS open_issues,
      MAX(m.updated_at) AS last_updated
    FROM projects p LEFT JOIN memories m ON m.project = p.slug AND m.status = 'active'
    GROUP BY p.slug
    ORDER BY last_updated IS NULL, last_updated DESC, p.slug`);
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
  const result = await db.execute({
    sql: "INSERT OR IGNORE INTO projects (slug, name, created_at) VALUES (?, ?, ?)",
    args: [slug, name ?? slug, now],
  });
  return { created: result.rowsAffected === 1 };
}

/**
 * Rename a project's slug everywhere it is used, in one transaction. Refuses
 * to merge into an existing project: that would be a different operation
 * with consequences (duplicates) the caller should choose deliberately.
 */
export async function renameProject(db: Database, from: string, to: string, name?: string): Promise<{ moved: number }> {
  const tx = await db.transaction("write");
  try {
    const existing = await tx.execute({ sql: "SELECT slug FROM projects WHERE slug IN (?, ?)", args: [from, to] });
    const slugs = new Set(existing.rows.map((row) => String(row.slug)));
    if (!slugs.has(from)) throw new AppError("not_found", `project: no project ${from}`, { code: "project_not_found" });
    if (slugs.has(to))
      throw new AppError("conflict", `new_slug: project ${to} already exists`, { code: "project_exists" });
    await tx.execute({ sql: "UPDATE projects SET slug = ?, name = ? WHERE slug = ?", args: [to, name ?? to, from] });
    const moved = await tx.execute({ sql: "UPDATE memories SET project = ? WHERE project = ?", args: [to, from] });
    await tx.execute({ sql: "UPDATE work_sessions SET project = ? WHERE project = ?", args: [to, from] });
    await tx.commit();
    return { moved: moved.rowsAffected };
  } finally {
    tx.close();
  }
}
