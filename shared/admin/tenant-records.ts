import type { Database } from "../db/client";
import { readPage } from "../db/page";
import type { Plan, TenantStatus } from "../plans";
import { fragment, updateTenants } from "../tenants/tenant-writes";
import { rowToTenant, type Tenant } from "../tenants/tenants";

/**
 * The operator's view of the `tenants` table: search and change plan /
 * status / override with an audit entry. A tenant is read with `getTenant`
 * (deleted tenants included; routes decide), its `updatedAt` the record version.
 */
/** Statuses an operator may set; `deleted` belongs to tenant deletion, not to a PATCH. */
export type SettableStatus = Exclude<TenantStatus, "deleted">;

export interface TenantChange {
  plan?: Plan;
  status?: SettableStatus;
  /** null clears the override. */
  rateLimitOverride?: number | null;
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
  mgmtDb: Database,
  search: TenantSearch,
): Promise<{ tenants: Tenant[]; hasMore: boolean }> {
  // LIKE wildcards in the user's text are escaped so "a_b" means "a_b".
  const pattern = search.query && `%${search.query.toLowerCase().replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
  const { rows, hasMore } = await readPage(mgmtDb, {
    select: "SELECT * FROM tenants",
    conditions: [
      pattern
        ? ["(lower(owner_email) LIKE ? ESCAPE '\\' OR lower(org_name) LIKE ? ESCAPE '\\')", pattern, pattern]
        : null,
      search.plan ? ["plan = ?", search.plan] : null,
      search.status ? ["status = ?", search.status] : null,
      search.after
        ? [
            "(created_at < ? OR (created_at = ? AND id < ?))",
            search.after.createdAt,
            search.after.createdAt,
            search.after.id,
          ]
        : null,
    ],
    orderBy: "created_at DESC, id DESC",
    limit: search.limit,
  });
  return { tenants: rows.map(rowToTenant), hasMore };
}

export type ChangeOutcome =
  | { outcome: "not_found" }
  | { outcome: "unchanged"; record: Tenant }
  | { outcome: "changed"; before: Tenant; record: Tenant };

/**
 * Apply `change` and write its audit entry (actor, before, after) in one
 * transaction. "Before" and "after" are computed by SQL from the row as the
 * transaction sees it, so concurrent changes each record the true state they
 * replaced — a chain, never two entries with the same stale "before" — and
 * no retry loop is needed. A change that alters nothing writes nothing.
 */
export async function changeTenant(
  mgmtDb: Database,
  tenantId: string,
  change: TenantChange,
  by: { actor: string; ip: string | null },
): Promise<ChangeOutcome> {
  // `null` for plan/status means "keep"; the override needs a flag because null is also a value ("clear it").
  const newPlan = "COALESCE(?, plan)";
  const newStatus = "COALESCE(?, status)";
  const newOverride = "CASE WHEN ? THEN ? ELSE rate_limit_override END";
  const newArgs = [
    change.plan ?? null,
    change.status ?? null,
    change.rateLimitOverride !== undefined ? 1 : 0,
    change.rateLimitOverride ?? null,
  ];
  const live = "id = ? AND status != 'deleted'";
  const differs = `(plan IS NOT ${newPlan} OR status IS NOT ${newStatus} OR rate_limit_override IS NOT ${newOverride})`;

  const [beforeRows, , update, afterRows] = await mgmtDb.batch(
    [
      { sql: "SELECT * FROM tenants WHERE id = ?", args: [tenantId] },
      // Same metadata shape as `auditStatement`: { before, after }.
      {
        sql: `INSERT INTO audit_log (tenant_id, actor, action, target, metadata, ip)
              SELECT id, ?, 'tenant.update', id, json_object(
                'before', json_object('plan', plan, 'status', status, 'rateLimitOverride', rate_limit_override),
                'after', json_object('plan', ${newPlan}, 'status', ${newStatus}, 'rateLimitOverride', ${newOverride})
              ), ?
              FROM tenants WHERE ${live} AND ${differs}`,
        args: [by.actor, ...newArgs, by.ip, tenantId, ...newArgs],
      },
      updateTenants(
        {
          plan: fragment(newPlan, change.plan ?? null),
          status: fragment(newStatus, change.status ?? null),
          rate_limit_override: fragment(newOverride, ...newArgs.slice(2)),
        },
        fragment(`${live} AND ${differs}`, tenantId, ...newArgs),
      ),
      { sql: "SELECT * FROM tenants WHERE id = ?", args: [tenantId] },
    ],
    "write",
  );
  const beforeRow = beforeRows?.rows[0];
  const afterRow = afterRows?.rows[0];
  if (!beforeRow || !afterRow || beforeRow.status === "deleted") return { outcome: "not_found" };
  const record = rowToTenant(afterRow);
  return update?.rowsAffected === 1
    ? { outcome: "changed", before: rowToTenant(beforeRow), record }
    : { outcome: "unchanged", record };
}
