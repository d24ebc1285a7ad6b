import type Stripe from "stripe";
import { auditStatement } from "../audit";
import type { Statement } from "../db/client";
import type { Plan } from "../plans";
import { fragment, tenantWhere, updateTenants } from "../tenants/tenant-writes";
import { rowToTenant, type Tenant } from "../tenants/tenants";
import type { BillingContext } from "./customers";
import { callStripe } from "./stripe-client";
import { isSubscribed, planEffect, planForPrice, stateVersion, subscriptionPrice } from "./subscription-state";
import { subscriptionUpsert } from "./subscriptions";

/** One tenant whose billing state differs from Stripe's. */
export interface TenantDrift {
  tenantId: string;
  customerId: string;
  local: { plan: Plan; subscriptionId: string | null; status: string | null };
  stripe: { plan: Plan; subscriptionId: string | null; status: string | null };
  /** True when `apply` wrote Stripe's state over ours. */
  fixed: boolean;
}

export interface ReconcileReport {
  checked: number;
  drift: TenantDrift[];
  /** Tenants that could not be compared (Stripe or the database failed for them); the run goes on. */
  errors: { tenantId: string; message: string }[];
  applied: boolean;
}

const PAGE = 100;

/**
 * Compare every tenant that has a Stripe customer (or only `tenantId`) with
 * Stripe's subscription state. With `apply`, Stripe's state is written over ours (audited as
 * `billing.reconcile`) and stamped with the present time, so any older
 * webhook still in flight is stale when it arrives. Returns the report and
 * the tenants changed (for their Durable Objects).
 */
export async function reconcileBilling(
  context: BillingContext,
  options: { apply: boolean; actor: string; tenantId?: string },
): Promise<{ report: ReconcileReport; changed: Tenant[] }> {
  const report: ReconcileReport = { checked: 0, drift: [], errors: [], applied: options.apply };
  const changed: Tenant[] = [];
  let after = "";
  for (;;) {
    const page = await context.mgmtDb.execute(
      {
        sql: `SELECT t.*, s.status AS subscription_status FROM tenants t
            LEFT JOIN billing_subscriptions s ON s.subscription_id = t.stripe_subscription_id
            WHERE t.stripe_customer_id IS NOT NULL AND t.status != 'deleted' AND t.id > ? AND (? IS NULL OR t.id = ?)
            ORDER BY t.id LIMIT ?`,
        args: [after, options.tenantId ?? null, options.tenantId ?? null, PAGE],
      },
      "read",
    );
    for (const row of page.rows) {
      const tenant = rowToTenant(row);
      after = tenant.id;
      report.checked += 1;
      try {
        const drift = await compare(context, tenant, row);
        if (!drift) continue;
        if (options.apply) {
          const fixed = await fix(context, tenant, drift, options.actor);
          if (fixed) changed.push(fixed);
          drift.fixed = true;
        }
        report.drift.push(publicDrift(drift));
      } catch (error) {
        report.errors.push({ tenantId: tenant.id, message: (error as Error).message });
      }
    }
    if (page.rows.length < PAGE) break;
  }
  return { report, changed };
}

interface DriftWithState extends TenantDrift {
  subscription: Stripe.Subscription | null;
}

async function compare(
  context: BillingContext,
  tenant: Tenant,
  row: Record<string, unknown>,
): Promise<DriftWithState | null> {
  const customerId = String(row.stripe_customer_id);
  const list = await callStripe("list subscriptions", () =>
    context.stripe.subscriptions.list({ customer: customerId, status: "all", limit: 20 }),
  );
  // Newest first: the subscription that counts is the newest current one, else the newest ended one.
  const subscription = list.data.find((candidate) => isSubscribed(candidate.status)) ?? list.data[0] ?? null;
  const expected = expectedPlan(context, tenant.plan, subscription);
  const local = {
    plan: tenant.plan,
    subscriptionId: row.stripe_subscription_id == null ? null : String(row.stripe_subscription_id),
    status: row.subscription_status == null ? null : String(row.subscription_status),
  };
  const stripe = { plan: expected, subscriptionId: subscription?.id ?? null, status: subscription?.status ?? null };
  const same =
    local.plan === stripe.plan &&
    (stripe.subscriptionId === null || local.subscriptionId === stripe.subscriptionId) &&
    local.status === stripe.status;
  return same ? null : { tenantId: tenant.id, customerId, local, stripe, fixed: false, subscription };
}

/** The plan Stripe's state implies. While payment fails (past_due) both the paid plan and `free` (grace over) agree. */
function expectedPlan(context: BillingContext, localPlan: Plan, subscription: Stripe.Subscription | null): Plan {
  if (!subscription) return "free";
  const plan = planForPrice(context.billing.prices, subscriptionPrice(subscription));
  switch (planEffect(subscription.status)) {
    case "grant":
      return plan ?? localPlan;
    case "grace":
      return localPlan === "free" ? "free" : (plan ?? localPlan);
    default:
      return "free";
  }
}

async function fix(context: BillingContext, tenant: Tenant, drift: DriftWithState, actor: string) {
  const { subscription } = drift;
  const now = Math.floor(Date.now() / 1000);
  const statements: Statement[] = [];
  if (subscription) {
    statements.push(
      subscriptionUpsert(context.billing.prices, {
        subscription,
        tenantId: tenant.id,
        version: stateVersion(now, subscription),
        source: `reconcile:${new Date(now * 1000).toISOString()}`,
        when: "always",
      }),
    );
  }
  const paymentFailing = subscription ? planEffect(subscription.status) === "grace" : false;
  statements.push(
    auditStatement({
      tenantId: tenant.id,
      actor,
      action: "billing.reconcile",
      before: drift.local,
      after: drift.stripe,
      details: { customerId: drift.customerId },
    }),
    // While payment is failing, the grace period and failure time held are kept; otherwise both are cleared.
    updateTenants(
      {
        plan: drift.stripe.plan,
        stripe_subscription_id: fragment("COALESCE(?, stripe_subscription_id)", drift.stripe.subscriptionId),
        billing_grace_ends_at: paymentFailing ? fragment("billing_grace_ends_at") : null,
        billing_payment_failed_at: paymentFailing ? fragment("billing_payment_failed_at") : null,
      },
      tenantWhere(tenant.id),
    ),
    { sql: "SELECT * FROM tenants WHERE id = ?", args: [tenant.id] },
  );
  const results = await context.mgmtDb.batch(statements, "write");
  const row = results.at(-1)?.rows[0];
  return row ? rowToTenant(row) : null;
}

/** The report without the Stripe objects it was computed from. */
function publicDrift(drift: TenantDrift): TenantDrift {
  const { tenantId, customerId, local, stripe, fixed } = drift;
  return { tenantId, customerId, local, stripe, fixed };
}
