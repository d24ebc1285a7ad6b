import type { InStatement } from "@libsql/client/web";
import { randomString } from "../../crypto/encoding";
import type { Database } from "../../db/client";
import { textOrNull } from "../../db/row-values";
import { AppError } from "../../errors";
import type { TableSummary } from "./table-copy";

/**
 * The durable record of one tenant move (table `tenant_migrations`, named
 * before "move" and "migration" got one meaning each; the table keeps its
 * name). Everything the driver needs to carry on after a crash is here, so
 * any process can resume it: the step reached, both databases, per-table
 * counts and checksums. Every statement on that table lives in this module.
 */
export const MOVE_STEPS = [
  "requested",
  /** Tenant's Durable Object refuses writes; the old database is fenced. */
  "marked",
  /** The new database exists (created through the Platform API, or given). */
  "provisioned",
  /** The tenant schema is applied to the new database. */
  "schema_applied",
  /** Every table is copied. */
  "copied",
  /** Row counts and checksums match on both sides. */
  "verified",
  /** The management pointer names the new database. */
  "switched",
  /** Writes are accepted again, on the new database. */
  "resumed",
] as const;
export type MoveStep = (typeof MOVE_STEPS)[number];
export type MoveStatus = "running" | "failed" | "completed" | "cancelled" | "finalized";

export interface TableProgress {
  copied?: number;
  source?: TableSummary;
  target?: TableSummary;
}

export interface TenantMove {
  id: string;
  tenantId: string;
  status: MoveStatus;
  step: MoveStep;
  actor: string;
  source: { name: string; url: string; tokenEncrypted: string; generation: number };
  target: {
    kind: "group" | "url";
    group: string | null;
    name: string | null;
    url: string | null;
    tokenEncrypted: string | null;
  };
  tables: Record<string, TableProgress>;
  error: string | null;
  retainUntil: string | null;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
  finalizedAt: string | null;
}

const NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

export function newMoveId(): string {
  return `mig_${randomString(20, "0123456789abcdefghijklmnopqrstuvwxyz")}`;
}

export function stepIndex(step: MoveStep): number {
  return MOVE_STEPS.indexOf(step);
}

/** The step after `step`; null after the last. */
export function nextStep(step: MoveStep): MoveStep | null {
  return MOVE_STEPS[stepIndex(step) + 1] ?? null;
}

function rowToMove(row: Record<string, unknown>): TenantMove {
  return {
    id: String(row.id),
    tenantId: String(row.tenant_id),
    status: row.status as MoveStatus,
    step: row.step as MoveStep,
    actor: String(row.actor),
    source: {
      name: String(row.source_name),
      url: String(row.source_url),
      tokenEncrypted: String(row.source_token_encrypted),
      generation: Number(row.source_generation),
    },
    target: {
      kind: row.target_kind === "url" ? "url" : "group",
      group: textOrNull(row.target_group),
      name: textOrNull(row.target_name),
      url: textOrNull(row.target_url),
      tokenEncrypted: textOrNull(row.target_token_encrypted),
    },
    tables: JSON.parse(String(row.tables ?? "{}")) as Record<string, TableProgress>,
    error: textOrNull(row.error),
    retainUntil: textOrNull(row.retain_until),
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
    completedAt: textOrNull(row.completed_at),
    finalizedAt: textOrNull(row.finalized_at),
  };
}

export async function getMove(mgmt: Database, id: string): Promise<TenantMove | null> {
  const result = await mgmt.execute({ sql: "SELECT * FROM tenant_migrations WHERE id = ?", args: [id] }, "read");
  const row = result.rows[0];
  return row ? rowToMove(row) : null;
}

/** The record, or a 404 naming the id. */
export async function requireMove(mgmt: Database, id: string): Promise<TenantMove> {
  const move = await getMove(mgmt, id);
  if (!move) throw new AppError("not_found", `no migration ${id}`, { code: "migration_not_found" });
  return move;
}

export async function listMoves(mgmt: Database, tenantId: string): Promise<TenantMove[]> {
  const result = await mgmt.execute(
    {
      sql: "SELECT * FROM tenant_migrations WHERE tenant_id = ? ORDER BY created_at DESC, id DESC LIMIT 50",
      args: [tenantId],
    },
    "read",
  );
  return result.rows.map(rowToMove);
}

export function insertMoveStatement(move: {
  id: string;
  tenantId: string;
  actor: string;
  source: TenantMove["source"];
  target: TenantMove["target"];
}): InStatement {
  const { source, target } = move;
  return {
    sql: `INSERT INTO tenant_migrations (id, tenant_id, actor, source_name, source_url, source_token_encrypted,
            source_generation, target_kind, target_group, target_name, target_url, target_token_encrypted)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    args: [
      move.id,
      move.tenantId,
      move.actor,
      source.name,
      source.url,
      source.tokenEncrypted,
      source.generation,
      target.kind,
      target.group,
      target.name,
      target.url,
      target.tokenEncrypted,
    ],
  };
}

/**
 * Record progress while the move is still running: a cancelled or failed
 * record is never moved on by a driver that did not notice. Returns false
 * when the record was no longer running.
 */
export async function recordProgress(
  mgmt: Database,
  id: string,
  change: { step?: MoveStep; tables?: Record<string, TableProgress>; target?: TenantMove["target"] },
): Promise<boolean> {
  const sets: string[] = [`updated_at = ${NOW}`];
  const args: (string | null)[] = [];
  if (change.step) {
    sets.push("step = ?");
    args.push(change.step);
  }
  if (change.tables) {
    sets.push("tables = ?");
    args.push(JSON.stringify(change.tables));
  }
  if (change.target) {
    sets.push("target_name = ?", "target_url = ?", "target_token_encrypted = ?");
    args.push(change.target.name, change.target.url, change.target.tokenEncrypted);
  }
  const result = await mgmt.execute(
    {
      sql: `UPDATE tenant_migrations SET ${sets.join(", ")} WHERE id = ? AND status = 'running'`,
      args: [...args, id],
    },
    "write",
  );
  return result.rowsAffected !== 0;
}

export function statusStatement(
  id: string,
  status: MoveStatus,
  extra: { error?: string | null; retainUntil?: string | null; from: MoveStatus[] },
): InStatement {
  const sets = ["status = ?", `updated_at = ${NOW}`];
  const args: (string | null)[] = [status];
  if (extra.error !== undefined) {
    sets.push("error = ?");
    args.push(extra.error);
  }
  if (extra.retainUntil !== undefined) {
    sets.push("retain_until = ?");
    args.push(extra.retainUntil);
  }
  if (status === "completed") sets.push(`completed_at = ${NOW}`);
  if (status === "finalized") sets.push(`finalized_at = ${NOW}`);
  return {
    sql: `UPDATE tenant_migrations SET ${sets.join(", ")} WHERE id = ? AND status IN (${extra.from.map(() => "?").join(", ")})`,
    args: [...args, id, ...extra.from],
  };
}

/** The last step, in the batch that marks the record completed. */
export function resumedStatement(id: string): InStatement {
  return { sql: "UPDATE tenant_migrations SET step = 'resumed' WHERE id = ? AND status = 'running'", args: [id] };
}

/** Put a failed record back to running at `step`. */
export function restartStatement(id: string, step: MoveStep): InStatement {
  return {
    sql: "UPDATE tenant_migrations SET status = 'running', error = NULL, step = ? WHERE id = ? AND status = 'failed'",
    args: [step, id],
  };
}

/** Cancel a running or failed record that has not switched; affects no row otherwise. */
export function cancelStatement(id: string): InStatement {
  return {
    sql: `UPDATE tenant_migrations SET status = 'cancelled', updated_at = ${NOW}
          WHERE id = ? AND status IN ('running', 'failed') AND step NOT IN ('switched', 'resumed')`,
    args: [id],
  };
}

/** A condition on the record, for another table's statement to be guarded by (no arguments of its own but `id`). */
export const VERIFIED_AND_RUNNING =
  "EXISTS (SELECT 1 FROM tenant_migrations WHERE id = ? AND status = 'running' AND step = 'verified')";

/** Mark the record switched, only if the statement before it in the batch changed exactly one row. */
export function switchedStatement(id: string): InStatement {
  return {
    sql: `UPDATE tenant_migrations SET step = 'switched', updated_at = ${NOW} WHERE id = ? AND changes() = 1`,
    args: [id],
  };
}

/** Completed moves whose old database is past its retention period. */
export async function movesDueForFinalize(mgmt: Database, nowIso: string): Promise<string[]> {
  const result = await mgmt.execute(
    {
      sql: "SELECT id FROM tenant_migrations WHERE status = 'completed' AND retain_until <= ? ORDER BY retain_until LIMIT 50",
      args: [nowIso],
    },
    "read",
  );
  return result.rows.map((row) => String(row.id));
}
