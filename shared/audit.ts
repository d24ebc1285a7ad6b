import type { InStatement, InValue } from "@libsql/client/web";
import type { Database } from "./db/client";
import { readPage } from "./db/page";

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

const AUDIT_COLUMNS = "tenant_id, actor, action, target, metadata, ip";

function auditValues(entry: AuditEntry): InValue[] {
  const { before, after, details = {} } = entry;
  return [
    entry.tenantId,
    entry.actor,
    entry.action,
    entry.target ?? entry.tenantId,
    JSON.stringify({ ...details, before, after }),
    entry.ip ?? null,
  ];
}

/** The insert for `entry`, to put in the batch that makes the change it describes. */
export function auditStatement(entry: AuditEntry): InStatement {
  return { sql: `INSERT INTO audit_log (${AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`, args: auditValues(entry) };
}

/**
 * The insert for `entry`, written only if `condition` holds when the batch
 * reaches it — typically `changes() = 1`, so the entry exists exactly when
 * the guarded statement before it changed a row. `condition` is SQL from our
 * own code, never from input; `args` are its bound values.
 */
export function conditionalAuditStatement(
  entry: AuditEntry,
  condition: { sql: string; args?: InValue[] },
): InStatement {
  return {
    sql: `INSERT INTO audit_log (${AUDIT_COLUMNS}) SELECT ?, ?, ?, ?, ?, ? WHERE ${condition.sql}`,
    args: [...auditValues(entry), ...(condition.args ?? [])],
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
  const { rows, hasMore } = await readPage(mgmtDb, {
    select: "SELECT * FROM audit_log",
    conditions: [
      filter.tenantId ? ["tenant_id = ?", filter.tenantId] : null,
      filter.action ? ["action = ?", filter.action] : null,
      filter.since ? ["created_at >= ?", filter.since] : null,
      filter.until ? ["created_at < ?", filter.until] : null,
      filter.beforeId !== undefined ? ["id < ?", filter.beforeId] : null,
    ],
    orderBy: "id DESC",
    limit: filter.limit,
  });
  const entries = rows.map((row) => {
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
  return { entries, hasMore };
}
