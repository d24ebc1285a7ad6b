import type { InStatement } from "@libsql/client/web";
import { randomString } from "../crypto/encoding";
import type { Database } from "../db/client";
import type { TableSummary } from "./table-copy";

/**
 * The durable record of one tenant migration (table `tenant_migrations`).
 * Everything the driver needs to carry on after a crash is here, so any
 * process can resume it: the step reached, both databases, per-table counts
 * and checksums.
 */
export const MIGRATION_STEPS = [
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
export type MigrationStep = (typeof MIGRATION_STEPS)[number];
export type MigrationStatus = "running" | "failed" | "completed" | "cancelled" | "finalized";

export interface TableProgress {
  copied?: number;
  source?: TableSummary;
  target?: TableSummary;
}

export interface TenantMigration {
  id: string;
  tenantId: string;
  status: MigrationStatus;
  step: MigrationStep;
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

export function newMigrationId(): string {
  return `mig_${randomString(20, "0123456789abcdefghijklmnopqrstuvwxyz")}`;
}

export function stepIndex(step: MigrationStep): number {
  return MIGRATION_STEPS.indexOf(step);
}

function rowToMigration(row: Record<string, unknown>): TenantMigration {
  const text = (value: unknown) => (value == null ? null : String(value));
  return {
    id: String(row.id),
    tenantId: String(row.tenant_id),
    status: row.status as MigrationStatus,
    step: row.step as MigrationStep,
    actor: String(row.actor),
    source: {
      name: String(row.source_name),
      url: String(row.source_url),
      tokenEncrypted: String(row.source_token_encrypted),
      generation: Number(row.source_generation),
    },
    target: {
      kind: row.target_kind as "group" | "url",
      group: text(row.target_group),
      name: text(row.target_name),
      url: text(row.target_url),
      tokenEncrypted: text(row.target_token_encrypted),
    },
    tables: JSON.parse(String(row.tables ?? "{}")) as Record<string, TableProgress>,
    error: text(row.error),
    retainUntil: text(row.retain_until),
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
    completedAt: text(row.completed_at),
    finalizedAt: text(row.finalized_at),
  };
}

export async function getMigration(mgmt: Database, id: string): Promise<TenantMigration | null> {
  const result = await mgmt.execute({ sql: "SELECT * FROM tenant_migrations WHERE id = ?", args: [id] }, "read");
  const row = result.rows[0];
  return row ? rowToMigration(row) : null;
}

export async function listMigrations(mgmt: Database, tenantId: string): Promise<TenantMigration[]> {
  const result = await mgmt.execute(
    {
      sql: "SELECT * FROM tenant_migrations WHERE tenant_id = ? ORDER BY created_at DESC, id DESC LIMIT 50",
      args: [tenantId],
    },
    "read",
  );
  return result.rows.map(rowToMigration);
}

export function insertMigrationStatement(migration: {
  id: string;
  tenantId: string;
  actor: string;
  source: TenantMigration["source"];
  target: TenantMigration["target"];
}): InStatement {
  const { source, target } = migration;
  return {
    sql: `INSERT INTO tenant_migrations (id, tenant_id, actor, source_name, source_url, source_token_encrypted,
            source_generation, target_kind, target_group, target_name, target_url, target_token_encrypted)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    args: [
      migration.id,
      migration.tenantId,
      migration.actor,
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
 * Record progress while the migration is still running: a cancelled or
 * failed record is never moved on by a driver that did not notice. Returns
 * false when the record was no longer running.
 */
export async function recordProgress(
  mgmt: Database,
  id: string,
  change: { step?: MigrationStep; tables?: Record<string, TableProgress>; target?: TenantMigration["target"] },
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
  return (result as { rowsAffected?: number }).rowsAffected !== 0;
}

export function statusStatement(
  id: string,
  status: MigrationStatus,
  extra: { error?: string | null; retainUntil?: string | null; from: MigrationStatus[] },
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

/** Completed migrations whose old database is past its retention period. */
export async function migrationsDueForFinalize(mgmt: Database, nowIso: string): Promise<string[]> {
  const result = await mgmt.execute(
    {
      sql: "SELECT id FROM tenant_migrations WHERE status = 'completed' AND retain_until <= ? ORDER BY retain_until LIMIT 50",
      args: [nowIso],
    },
    "read",
  );
  return result.rows.map((row) => String(row.id));
}
