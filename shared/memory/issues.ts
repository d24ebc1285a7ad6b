import type { Database } from "../db/client";
import { FieldError } from "./errors";
import { DEFAULT_SEVERITY } from "./memories";
import { DEFAULT_PROJECT, type Memory, rowToMemory } from "./model";
import { remember } from "./remember";

/**
 * Issues are memories of kind `issue` with an open/resolved state and a
 * severity, so they are found by recall like everything else and listed
 * here by state.
 */
export interface NewIssue {
  project?: string;
  title: string;
  description?: string;
  severity?: number;
  files?: string[];
  tags?: string[];
  source?: string;
  /** Who tracked it (`attribution.ts`), as stored; set by the memory door. */
  writtenBy?: string | null;
}

export async function addIssue(db: Database, issue: NewIssue, now = Date.now()) {
  const severity = issue.severity ?? DEFAULT_SEVERITY;
  const [saved] = await remember(
    db,
    [
      {
        kind: "issue",
        project: issue.project,
        title: issue.title,
        content: issue.description?.trim() ? issue.description : issue.title,
        files: issue.files,
        tags: issue.tags,
        // Severe issues matter more in briefings and recall.
        importance: Math.max(3, severity),
        source: issue.source,
        writtenBy: issue.writtenBy ?? null,
        issue: { severity },
      },
    ],
    now,
  );
  // `remember` answers one entry per input, so one input gives exactly one.
  if (!saved) throw new Error("remember returned no result for the issue");
  return saved;
}

export async function resolveIssue(
  db: Database,
  id: string,
  resolution: string,
  now = Date.now(),
  by: string | null = null,
): Promise<Memory> {
  const result = await db.execute(
    {
      sql: `UPDATE memories SET issue_status = 'resolved', resolution = ?, resolved_at = ?, updated_at = ?, changed_by = ?
          WHERE id = ? AND kind = 'issue' AND status != 'forgotten' RETURNING *`,
      args: [resolution, now, now, by, id],
    },
    "write",
  );
  const row = result.rows[0];
  if (!row) throw new FieldError("not_found", "id", `no open or resolved issue with id ${id}`, "issue_not_found");
  return rowToMemory(row);
}

export async function listIssues(
  db: Database,
  options: { project?: string; allProjects?: boolean; state?: "open" | "resolved" | "all"; limit?: number },
): Promise<Memory[]> {
  const where = ["kind = 'issue'", "status = 'active'"];
  const args: (string | number)[] = [];
  if (!options.allProjects) {
    where.push("project = ?");
    args.push(options.project ?? DEFAULT_PROJECT);
  }
  const state = options.state ?? "open";
  if (state !== "all") {
    where.push("issue_status = ?");
    args.push(state);
  }
  const result = await db.execute(
    {
      sql: `SELECT * FROM memories WHERE ${where.join(" AND ")}
          ORDER BY issue_status = 'open' DESC, severity DESC, updated_at DESC LIMIT ?`,
      args: [...args, options.limit ?? 50],
    },
    "read",
  );
  return result.rows.map(rowToMemory);
}
