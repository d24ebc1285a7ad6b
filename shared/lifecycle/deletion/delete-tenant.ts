import { auditStatement } from "../../audit";
import type { Config } from "../../config";
import type { Database } from "../../db/client";
import { AppError } from "../../errors";
import { deleteTenantRow, tenantWhere, updateTenants } from "../../tenants/tenant-writes";
import { deleteDatabase, PlatformApiError } from "../../tenants/turso-platform";

/**
 * Deleting an account for real: every credential revoked, the tenant's
 * databases deleted, its Durable Object storage erased, its management rows
 * and personal data gone, and one audit tombstone left that names no person.
 *
 * The steps are ordered so an interruption anywhere can be finished by
 * repeating the call (the operator's `DELETE /api/tenants/:id`, or the
 * cron sweep every 5 minutes): the first transaction marks the tenant deleted and
 * revokes its keys (so nothing else can happen to it), each external delete
 * treats "already gone" as done, and the last transaction removes the rows.
 */

/**
 * What lives outside this module and must be undone too. Billing (issue #11)
 * and OAuth (issue #10) plug in here; until they are wired, a tenant with a
 * Stripe subscription is refused rather than deleted with a live subscription.
 */
export interface TenantDeletionHooks {
  cancelSubscription?(subscriptionId: string): Promise<void>;
  /** Revoke every OAuth grant and token of the tenant; returns how many. */
  revokeOAuthGrants?(tenantId: string): Promise<number>;
  /** Erase the tenant's Durable Object storage. */
  eraseTenantObject(tenantId: string): Promise<void>;
}

export interface DeletionDeps {
  mgmt: Database;
  config: Config;
  hooks: TenantDeletionHooks;
}

export interface DeletionResult {
  tenantId: string;
  /** False when an earlier call had already finished the deletion. */
  deletedNow: boolean;
  databasesDeleted: string[];
  keysRevoked: number;
  oauthGrantsRevoked: number | null;
  subscriptionCancelled: boolean;
}

const NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

export async function deleteTenant(
  deps: DeletionDeps,
  tenantId: string,
  by: { actor: string },
): Promise<DeletionResult> {
  const { mgmt, config, hooks } = deps;
  const found = await mgmt.execute(
    { sql: "SELECT id, status, stripe_subscription_id FROM tenants WHERE id = ?", args: [tenantId] },
    "read",
  );
  const tenant = found.rows[0];
  if (!tenant) {
    const tombstone = await mgmt.execute(
      { sql: "SELECT 1 FROM audit_log WHERE tenant_id = ? AND action = 'tenant.delete' LIMIT 1", args: [tenantId] },
      "read",
    );
    if (tombstone.rows.length === 0)
      throw new AppError("not_found", `no tenant ${tenantId}`, { code: "tenant_not_found" });
    return {
      tenantId,
      deletedNow: false,
      databasesDeleted: [],
      keysRevoked: 0,
      oauthGrantsRevoked: null,
      subscriptionCancelled: false,
    };
  }

  const subscription = tenant.stripe_subscription_id == null ? null : String(tenant.stripe_subscription_id);
  if (subscription && !hooks.cancelSubscription) {
    throw new AppError(
      "conflict",
      "this account has a Stripe subscription and billing is not wired into this build; cancel the subscription in Stripe, clear it, then delete the account",
      { code: "subscription_not_cancellable" },
    );
  }

  // 1. Nothing more can happen to the tenant: status deleted (credentials stop resolving), keys revoked.
  const revoked = await mgmt.batch(
    [
      {
        sql: `UPDATE api_keys SET revoked_at = ${NOW} WHERE tenant_id = ? AND revoked_at IS NULL`,
        args: [tenantId],
      },
      updateTenants({ status: "deleted" }, tenantWhere(tenantId)),
    ],
    "write",
  );
  const keysRevoked = revoked[0]?.rowsAffected ?? 0;
  const oauthGrantsRevoked = hooks.revokeOAuthGrants ? await hooks.revokeOAuthGrants(tenantId) : null;
  if (subscription && hooks.cancelSubscription) await hooks.cancelSubscription(subscription);

  // 2. Every database the tenant has or had: current, and those migrations created or left behind.
  const databases = await mgmt.batch(
    [
      { sql: "SELECT name FROM tenant_databases WHERE tenant_id = ?", args: [tenantId] },
      {
        sql: `SELECT source_name AS name FROM tenant_migrations
              WHERE tenant_id = ? AND status IN ('running', 'failed', 'completed')
              UNION SELECT target_name FROM tenant_migrations
              WHERE tenant_id = ? AND target_kind = 'group' AND target_name IS NOT NULL AND status IN ('running', 'failed')`,
        args: [tenantId, tenantId],
      },
    ],
    "read",
  );
  const names = [...new Set(databases.flatMap((result) => result.rows.map((row) => String(row.name))))];
  const deleted: string[] = [];
  for (const name of names) {
    try {
      await deleteDatabase(config.turso, config.dbTimeoutMs, name);
      deleted.push(name);
    } catch (error) {
      if (!(error instanceof PlatformApiError && error.status === 404)) throw error;
    }
  }

  // 3. The Durable Object's storage: sessions, counters, settings.
  await hooks.eraseTenantObject(tenantId);

  // 4. The rows, the audit history that holds personal data (emails, org names,
  // addresses), and one tombstone that names no person.
  await mgmt.batch(
    [
      { sql: "DELETE FROM usage WHERE tenant_id = ?", args: [tenantId] },
      { sql: "DELETE FROM api_keys WHERE tenant_id = ?", args: [tenantId] },
      { sql: "DELETE FROM tenant_migrations WHERE tenant_id = ?", args: [tenantId] },
      { sql: "DELETE FROM tenant_databases WHERE tenant_id = ?", args: [tenantId] },
      // Accounts whose home is this team but who belong to another team move
      // there; every other account homed here (email, password hash) goes, so
      // the email can sign up again. Memberships and invitations go with the team.
      {
        sql: `UPDATE users SET tenant_id = (
                SELECT m.tenant_id FROM memberships m JOIN tenants t ON t.id = m.tenant_id
                WHERE m.user_id = users.id AND m.tenant_id != ? AND t.status != 'deleted' ORDER BY m.created_at LIMIT 1)
              WHERE tenant_id = ? AND EXISTS (
                SELECT 1 FROM memberships m JOIN tenants t ON t.id = m.tenant_id
                WHERE m.user_id = users.id AND m.tenant_id != ? AND t.status != 'deleted')`,
        args: [tenantId, tenantId, tenantId],
      },
      { sql: "DELETE FROM memberships WHERE tenant_id = ?", args: [tenantId] },
      { sql: "DELETE FROM invitations WHERE tenant_id = ?", args: [tenantId] },
      { sql: "DELETE FROM console_sessions WHERE tenant_id = ?", args: [tenantId] },
      { sql: "DELETE FROM users WHERE tenant_id = ?", args: [tenantId] },
      deleteTenantRow(tenantId),
      { sql: "DELETE FROM audit_log WHERE tenant_id = ?", args: [tenantId] },
      auditStatement({
        tenantId,
        actor: by.actor.startsWith("admin") ? "admin" : "owner",
        action: "tenant.delete",
        details: {
          databasesDeleted: deleted.length,
          keysRevoked,
          subscriptionCancelled: Boolean(subscription),
        },
      }),
    ],
    "write",
  );
  return {
    tenantId,
    deletedNow: true,
    databasesDeleted: deleted,
    keysRevoked,
    oauthGrantsRevoked,
    subscriptionCancelled: Boolean(subscription),
  };
}

/** Tenants whose deletion began but did not finish (status `deleted`, rows still there): the cron sweep finishes them. */
export async function unfinishedDeletions(mgmt: Database): Promise<string[]> {
  const result = await mgmt.execute("SELECT id FROM tenants WHERE status = 'deleted' LIMIT 50", "read");
  return result.rows.map((row) => String(row.id));
}
