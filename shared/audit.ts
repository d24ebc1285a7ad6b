import type { InStatement } from "@libsql/client/web";
import type { Database } from "./db/client";

/**
 * The audit log: who changed what, with the state before and after. Entries
 * are written in the same batch as the change they describe, so a change is
 * never applied without its entry, nor an entry kept for a change that failed.
 */
export interface AuditEntry {
  tenantId: string | null;
  /** "admin", "admin:<name>", "stripe", "tenant:<keyId>", "system"… */
  actor: string;
  /** Dotted, past-tense-free verb: "tenant.update", "sessions.close". */
  action: string;
  target?: string | null;
  before?: unknown;
  after?: unknown;
  /** Anything else worth keeping; never secrets. */
  details?: Record<string, unknown>;
  ip?: string | null;
}

export interface AuditRecord {
  id: number;
  tenantId: string | null;
  actor: string;
  action: string;
  target: string | null;
  before: unknown;
  after: unknown;
  details: Record<string, unknown>;
  ip: string | null;
  createdAt: string;
}

/** The insert for `entry`, to put in the batch that makes the change it describes. */
export function auditStatement(entry: AuditEntry): InStatement {
  const { before, after, details = {} } = entry;
  return {
    sql: "INSERT INTO audit_log (tenant_id, actor, action, target, metadata, ip) VALUES (?, ?, ?, ?, ?, ?)",
    args: [
      entry.tenantId,
      entry.actor,
      entry.action,
      entry.target ?? entry.tenantId,
      JSON.stringify({ ...details, before, after }),
      entry.ip ?? null,
    ],
  };
}

export async function writeAudit(mgmtDb: Database, entry: AuditEntry): Promise<void> {
  await mgmtDb.execute(auditStatement(entry), "write");
}

export interface AuditFilter {
  tenantId?: string;
  action?: string;
  /** ISO times, inclusive lower and exclusive upper bound. */
  since?: string;
  until?: string;
  /** Only entries older than this id: the cursor of the previous page. */
  beforeId?: number;
  limit: number;
}

/** Newest first, keyset-paginated by id. */
export async function listAudit(
  mgmtDb: Database,
  filter: AuditFilter,
): Promise<{ entries: AuditRecord[]; hasMore: boolean }> {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (filter.tenantId) {
    where.push("tenant_id = ?");
    args.push(filter.tenantId);
  }
  if (filter.action) {
    where.push("action = ?");
    args.push(filter.action);
  }
  if (filter.since) {
    where.push("created_at >= ?");
    args.push(filter.since);
  }
  if (filter.until) {
    where.push("created_at < ?");
    args.push(filter.until);
  }
  if (filter.beforeId !== undefined) {
    where.push("id < ?");
    args.push(filter.beforeId);
  }
  const result = await mgmtDb.execute(
    {
      sql: `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ?`,
      args: [...args, filter.limit + 1],
    },
    "read",
  );
  const entries = result.rows.slice(0, filter.limit).map((row) => {
    const { before, after, ...details } = JSON.parse(String(row.metadata ?? "{}")) as Record<string, unknown>;
    return {
      id: Number(row.id),
      tenantId: row.tenant_id == null ? null : String(row.tenant_id),
      actor: String(row.actor),
      action: String(row.action),
      target: row.target == null ? null : String(row.target),
      before: before ?? null,
      after: after ?? null,
      details,
      ip: row.ip == null ? null : String(row.ip),
      createdAt: String(row.created_at),
    };
  });
  return { entries, hasMore: result.rows.length > filter.limit };
}
