import type { Database } from "../db/client";
import { fragment, updateTenants } from "../tenants/tenant-writes";
import { rowToTenant, type Tenant } from "../tenants/tenants";

/**
 * End every grace period that has run out: the tenant returns to `free`,
 * with an audit entry, in one transaction per tenant. The condition is
 * re-checked inside the transaction, so a payment that succeeded in the
 * meantime (which clears the grace period) wins. Returns the tenants changed.
 */
export async function endExpiredGracePeriods(mgmtDb: Database, now: Date = new Date()): Promise<Tenant[]> {
  const at = now.toISOString();
  const expired = await mgmtDb.execute(
    {
      sql: "SELECT id FROM tenants WHERE billing_grace_ends_at <= ? AND status != 'deleted' ORDER BY id",
      args: [at],
    },
    "read",
  );
  const changed: Tenant[] = [];
  for (const row of expired.rows) {
    const tenantId = String(row.id);
    const due = "id = ? AND billing_grace_ends_at <= ?";
    const [, update, after] = await mgmtDb.batch(
      [
        {
          sql: `INSERT INTO audit_log (tenant_id, actor, action, target, metadata)
                SELECT id, 'system', 'billing.grace_ended', id, json_object(
                  'subscriptionId', stripe_subscription_id,
                  'graceEndsAt', billing_grace_ends_at, 'paymentFailedAt', billing_payment_failed_at,
                  'before', json_object('plan', plan), 'after', json_object('plan', 'free'))
                FROM tenants WHERE ${due}`,
          args: [tenantId, at],
        },
        // The failure stays recorded (payment is still failing); only the grace period and the paid plan end.
        updateTenants({ plan: "free", billing_grace_ends_at: null }, fragment(due, tenantId, at)),
        { sql: "SELECT * FROM tenants WHERE id = ?", args: [tenantId] },
      ],
      "write",
    );
    const tenant = after?.rows[0];
    if (update?.rowsAffected === 1 && tenant) changed.push(rowToTenant(tenant));
  }
  return changed;
}
