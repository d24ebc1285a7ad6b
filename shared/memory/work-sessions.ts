import { randomString } from "../crypto/encoding";
import type { Database } from "../db/client";
import { AppError } from "../errors";
import { type Attribution, parseAttribution } from "./attribution";
import { FieldError } from "./errors";
import { DEFAULT_PROJECT, jsonArray, type Row } from "./model";
import { resultAt } from "./sql";

/**
 * A work session is a stretch of work on a project by an assistant: its goal
 * when it started and, when it ended, the outcome and next steps. `context`
 * hands the latest one to the next session, so work picks up where it was
 * left. (Not to be confused with MCP protocol sessions, which live in the
 * tenant's Durable Object.)
 */
export interface WorkSession {
  id: string;
  project: string;
  goal: string | null;
  outcome: string | null;
  nextSteps: string[];
  success: boolean | null;
  startedAt: string;
  endedAt: string | null;
  /** Who started and who ended it (tenant DB v6); null before attribution. */
  startedBy: Attribution | null;
  endedBy: Attribution | null;
}

function rowToWorkSession(row: Row): WorkSession {
  const nextSteps = jsonArray(row.next_steps);
  return {
    id: String(row.id),
    project: String(row.project),
    goal: row.goal == null ? null : String(row.goal),
    outcome: row.outcome == null ? null : String(row.outcome),
    nextSteps,
    success: row.success == null ? null : Number(row.success) === 1,
    startedAt: new Date(Number(row.started_at)).toISOString(),
    endedAt: row.ended_at == null ? null : new Date(Number(row.ended_at)).toISOString(),
    startedBy: parseAttribution(row.started_by),
    endedBy: parseAttribution(row.ended_by),
  };
}

export async function startWorkSession(
  db: Database,
  input: { project?: string; goal?: string },
  by: string | null = null,
  now = Date.now(),
): Promise<WorkSession> {
  const project = input.project ?? DEFAULT_PROJECT;
  const id = `ws_${randomString(16)}`;
  const results = await db.batch(
    [
      {
        sql: "INSERT OR IGNORE INTO projects (slug, name, created_at) VALUES (?, ?, ?)",
        args: [project, project, now],
      },
      {
        sql: "INSERT INTO work_sessions (id, project, goal, started_at, started_by) VALUES (?, ?, ?, ?, ?) RETURNING *",
        args: [id, project, input.goal ?? null, now, by],
      },
    ],
    "write",
  );
  // INSERT ... RETURNING answers the one row it inserted (a failed insert throws instead).
  const row = resultAt(results, 1).rows[0];
  if (!row) throw new Error(`work session ${id} was inserted but not returned`);
  return rowToWorkSession(row);
}

/** End a work session: the given one, or else the project's latest still open. */
export async function endWorkSession(
  db: Database,
  input: { id?: string; project?: string; outcome?: string; nextSteps?: string[]; success?: boolean },
  by: string | null = null,
  now = Date.now(),
): Promise<WorkSession> {
  const target = input.id
    ? { sql: "id = ?", args: [input.id] }
    : {
        sql: `id = (SELECT id FROM work_sessions WHERE project = ? AND ended_at IS NULL ORDER BY started_at DESC LIMIT 1)`,
        args: [input.project ?? DEFAULT_PROJECT],
      };
  const result = await db.execute(
    {
      sql: `UPDATE work_sessions SET outcome = ?, next_steps = ?, success = ?, ended_at = ?, ended_by = ?
            WHERE ${target.sql} RETURNING *`,
      args: [
        input.outcome ?? null,
        JSON.stringify(input.nextSteps ?? []),
        input.success === undefined ? null : input.success ? 1 : 0,
        now,
        by,
        ...target.args,
      ],
    },
    "write",
  );
  const row = result.rows[0];
  if (!row) {
    throw input.id
      ? new FieldError("not_found", "id", `no work session with id ${input.id}`, "work_session_not_found")
      : new AppError("not_found", "no open work session in this project; start one first", {
          code: "work_session_not_found",
        });
  }
  return rowToWorkSession(row);
}

/** The project's most recent work session, ended or not. */
export async function latestWorkSession(db: Database, project: string): Promise<WorkSession | null> {
  const result = await db.execute(
    {
      sql: "SELECT * FROM work_sessions WHERE project = ? ORDER BY started_at DESC LIMIT 1",
      args: [project],
    },
    "read",
  );
  const row = result.rows[0];
  return row ? rowToWorkSession(row) : null;
}
