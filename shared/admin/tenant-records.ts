import type { VersionedSettings } from "../../durable-objects/tenant/settings";
import { auditStatement } from "../audit";
import type { Database } from "../db/client";
import type { Plan, Tenant, TenantStatus } from "../tenants/tenants";

/**
 * The operator's view of the `tenants` table: search, read with the record
 * version, and change plan / status / override with an audit entry.
 */
export interface TenantRecord extends Tenant {
  /** Moves on every change; the tenant's Durable Object uses it to ignore stale pushes. */
  updatedAt: string;
}

/** Statuses an operator may set; `deleted` belongs to tenant deletion, not to a PATCH. */
export type SettableStatus = Exclude<TenantStatus, "deleted">;

export interface TenantChange {
  plan?: Plan;
  status?: SettableStatus;
  /** null clears the override. */
  rateLimitOverride?: number | null;
}

function toRecord(row: Record<string, unknown>): TenantRecord {
  return {
    id: String(row.id),
    orgName: String(row.org_name),
    ownerEmail: String(row.owner_email),
    plan: row.plan as Plan,
    status: row.status as TenantStatus,
    rateLimitOverride: row.rate_limit_override == null ? null : Number(row.rate_limit_override),
    apiKeysCount: Number(row.api_keys_count),
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
  };
}

export async function getTenantRecord(mgmt: Database, tenantId: string): Promise<TenantRecord | null> {
  const result = await mgmt.execute({ sql: "SELECT * FROM tenants WHERE id = ?", args: [tenantId] });
  const row = result.rows[0];
  return row ? toRecord(row) : null;
}

export interface TenantSearch {
  /** Matched as a substring of the owner email or the org name, case-insensitively. */
  query?: string;
  plan?: Plan;
  status?: TenantStatus;
  /** Return tenants created before this one (the previous page's cursor). */
  after?: { createdAt: string; id: string };
  limit: number;
}

/** Newest first, keyset-paginated on (created_at, id) so pages stay stable while tenants sign up. */
export async function searchTenants(
  mgmt: Database,
  search: TenantSearch,
): Promise<{ tenants: TenantRecord[]; hasMore: boolean }> {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (search.query) {
    // LIKE wildcards in the user's text are escaped so "a_b" means "a_b".
    const pattern = `%${search.query.toLowerCase().replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
    where.push("(lower(owner_email) LIKE ? ESCAPE '\\' OR lower(org_name) LIKE ? ESCAPE '\\')");
    args.push(pattern, pattern);
  }
  if (search.plan) {
    where.push("plan = ?");
    args.push(search.plan);
  }
  if (search.status) {
    where.push("status = ?");
    args.push(search.status);
  }
  if (search.after) {
    where.push("(created_at < ? OR (created_at = ? AND id < ?))");
    args.push(search.after.createdAt, search.after.createdAt, search.after.id);
  }
  const result = await mgmt.execute({
    sql: `SELECT * FROM tenants ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
          ORDER BY created_at DESC, id DESC LIMIT ?`,
    args: [...args, search.limit + 1],
  });
  return { tenants: result.rows.slice(0, search.limit).map(toRecord), hasMore: result.rows.length > search.limit };
}

export type ChangeOutcome =
  | { outcome: "not_found" }
  | { outcome: "unchanged"; record: TenantRecord }
  | { outcome: "changed"; before: TenantRecord; record: TenantRecord };

const ATTEMPTS = 3;

/**
 * Apply `change` and write its audit entry (actor, before, after) in one
 * batch. The update only applies if the row is still the version read, so a
 * concurrent change is never described with a stale "before"; on such a
 * conflict the read and the batch are simply repeated.
 */
export async function changeTenant(
  mgmt: Database,
  tenantId: string,
  change: TenantChange,
  by: { actor: string; ip: string | null },
): Promise<ChangeOutcome> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const before = await getTenantRecord(mgmt, tenantId);
    if (!before || before.status === "deleted") return { outcome: "not_found" };
    const after = {
      plan: change.plan ?? before.plan,
      status: change.status ?? before.status,
      rateLimitOverride: change.rateLimitOverride !== undefined ? change.rateLimitOverride : before.rateLimitOverride,
    };
    const previous = { plan: before.plan, status: before.status, rateLimitOverride: before.rateLimitOverride };
    if (JSON.stringify(after) === JSON.stringify(previous)) return { outcome: "unchanged", record: before };

    const [update] = await mgmt.batch(
      [
        {
          sql: `UPDATE tenants SET plan = ?, status = ?, rate_limit_override = ?,
                  updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                WHERE id = ? AND updated_at = ?`,
          args: [after.plan, after.status, after.rateLimitOverride, tenantId, before.updatedAt],
        },
        auditStatement(
          { tenantId, actor: by.actor, action: "tenant.update", before: previous, after, ip: by.ip },
          { onlyIfPreviousChanged: true },
        ),
      ],
      "write",
    );
    if (update?.rowsAffected === 1) {
      const record = await getTenantRecord(mgmt, tenantId);
      if (!record) return { outcome: "not_found" };
      return { outcome: "changed", before, record };
    }
  }
  throw new Error(`tenant ${tenantId} kept changing underneath ${ATTEMPTS} update attempts`);
}

/** What the tenant's Durable Object needs from a record to admit requests. */
export function settingsOf(record: TenantRecord): VersionedSettings {
  return {
    tenantId: record.id,
    plan: record.plan,
    status: record.status,
    rateLimitOverride: record.rateLimitOverride,
    recordUpdatedAt: record.updatedAt,
  };
}
