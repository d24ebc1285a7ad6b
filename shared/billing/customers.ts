import type Stripe from "stripe";
import type { BillingConfig } from "../config";
import type { Database } from "../db/client";
import { textOrNull } from "../db/row-values";
import { AppError } from "../errors";
import type { Plan } from "../plans";
import { fragment, tenantWhere, updateTenants } from "../tenants/tenant-writes";
import { callStripe } from "./stripe-client";
import { isSubscribed, type PaidPlan } from "./subscription-state";

/** A tenant's billing as the tenant (and `GET /api/billing`) sees it. */
export interface TenantBilling {
  tenantId: string;
  plan: Plan;
  customerId: string | null;
  subscription: {
    id: string;
    status: string;
    currentPeriodEnd: string | null;
    cancelAtPeriodEnd: boolean;
  } | null;
  /** When the last payment failed, while it is still failing. */
  paymentFailedAt: string | null;
  /** Until when the paid plan stays in force while payment fails; null when no payment is failing. */
  graceEndsAt: string | null;
}

export interface BillingContext {
  mgmtDb: Database;
  billing: BillingConfig;
  stripe: Stripe;
}

export async function getTenantBilling(mgmtDb: Database, tenantId: string): Promise<TenantBilling | null> {
  const result = await mgmtDb.execute(
    {
      sql: `SELECT t.id, t.plan, t.stripe_customer_id, t.stripe_subscription_id, t.billing_grace_ends_at,
            t.billing_payment_failed_at, s.status, s.current_period_end, s.cancel_at_period_end
          FROM tenants t LEFT JOIN billing_subscriptions s ON s.subscription_id = t.stripe_subscription_id
          WHERE t.id = ? AND t.status != 'deleted'`,
      args: [tenantId],
    },
    "read",
  );
  const row = result.rows[0];
  if (!row) return null;
  return {
    tenantId: String(row.id),
    plan: row.plan as Plan,
    customerId: textOrNull(row.stripe_customer_id),
    subscription: row.stripe_subscription_id
      ? {
          id: String(row.stripe_subscription_id),
          status: textOrNull(row.status) ?? "unknown",
          currentPeriodEnd: textOrNull(row.current_period_end),
          cancelAtPeriodEnd: Number(row.cancel_at_period_end) === 1,
        }
      : null,
    paymentFailedAt: textOrNull(row.billing_payment_failed_at),
    graceEndsAt: textOrNull(row.billing_grace_ends_at),
  };
}

export type CheckoutStart = { kind: "checkout" | "portal"; url: string };

/**
 * Where a tenant goes to buy `plan`: a Checkout Session (subscription mode)
 * for its Stripe customer, created on first use — or, when it already has a
 * subscription, the billing portal, so no tenant ever pays for two.
 */
export async function startCheckout(context: BillingContext, tenantId: string, plan: PaidPlan): Promise<CheckoutStart> {
  const { stripe, billing } = context;
  const customerId = await ensureCustomer(context, tenantId);
  // Stripe is asked, not our copy: a webhook still on its way must not let a second subscription through.
  const existing = await callStripe("list subscriptions", () =>
    stripe.subscriptions.list({ customer: customerId, status: "all", limit: 20 }),
  );
  if (existing.data.some((subscription) => isSubscribed(subscription.status))) {
    return { kind: "portal", url: await portalUrl(context, customerId) };
  }
  const session = await callStripe("start a checkout", () =>
    stripe.checkout.sessions.create({
      mode: "subscription",
      customer: customerId,
      client_reference_id: tenantId,
      line_items: [{ price: billing.prices[plan], quantity: 1 }],
      success_url: billing.successUrl,
      cancel_url: billing.cancelUrl,
      // Subscription events then name their tenant without another lookup.
      subscription_data: { metadata: { tenant_id: tenantId, plan } },
      metadata: { tenant_id: tenantId, plan },
    }),
  );
  if (!session.url) throw new AppError("internal", "the checkout session has no URL");
  return { kind: "checkout", url: session.url };
}

/** A billing portal session for the tenant's customer; 400 when it has none yet. */
export async function openPortal(context: BillingContext, tenantId: string): Promise<{ url: string }> {
  const account = await getTenantBilling(context.mgmtDb, tenantId);
  if (!account?.customerId) {
    throw new AppError(
      "invalid_request",
      "This tenant has no billing account yet: start a subscription with POST /api/billing/checkout first.",
      { code: "no_billing_customer" },
    );
  }
  return { url: await portalUrl(context, account.customerId) };
}

async function portalUrl(context: BillingContext, customerId: string): Promise<string> {
  const session = await callStripe("open the billing portal", () =>
    context.stripe.billingPortal.sessions.create({ customer: customerId, return_url: context.billing.portalReturnUrl }),
  );
  return session.url;
}

/**
 * The tenant's Stripe customer, created on first use with the tenant id in
 * its metadata. The idempotency key makes two concurrent first checkouts get
 * the same customer from Stripe; the conditional update keeps the first.
 */
async function ensureCustomer(context: BillingContext, tenantId: string): Promise<string> {
  const { mgmtDb, stripe } = context;
  const result = await mgmtDb.execute(
    {
      sql: "SELECT stripe_customer_id, owner_email, org_name FROM tenants WHERE id = ? AND status != 'deleted'",
      args: [tenantId],
    },
    "read",
  );
  const row = result.rows[0];
  if (!row) throw new AppError("not_found", "tenant not found", { code: "tenant_not_found" });
  if (row.stripe_customer_id) return String(row.stripe_customer_id);
  const customer = await callStripe("create the customer", () =>
    stripe.customers.create(
      { email: String(row.owner_email), name: String(row.org_name), metadata: { tenant_id: tenantId } },
      { idempotencyKey: `muninn-customer-${tenantId}` },
    ),
  );
  const [, current] = await mgmtDb.batch(
    [
      // The first customer stored wins; a concurrent checkout's customer is left unused.
      updateTenants({ stripe_customer_id: customer.id }, tenantWhere(tenantId, fragment("stripe_customer_id IS NULL"))),
      { sql: "SELECT stripe_customer_id FROM tenants WHERE id = ?", args: [tenantId] },
    ],
    "write",
  );
  return String(current?.rows[0]?.stripe_customer_id ?? customer.id);
}

/**
 * Cancel the tenant's subscriptions at once (account deletion). Returns the
 * ids cancelled (none when there was nothing to cancel). The
 * `customer.subscription.deleted` webhook then records each end as usual.
 */
export async function cancelTenantSubscriptions(context: BillingContext, tenantId: string): Promise<string[]> {
  const account = await getTenantBilling(context.mgmtDb, tenantId);
  if (!account?.customerId) return [];
  const customerId = account.customerId;
  const subscriptions = await callStripe("list subscriptions", () =>
    context.stripe.subscriptions.list({ customer: customerId, status: "all", limit: 20 }),
  );
  const live = subscriptions.data.filter((subscription) => isSubscribed(subscription.status));
  for (const subscription of live) {
    await callStripe("cancel the subscription", () => context.stripe.subscriptions.cancel(subscription.id));
  }
  return live.map((subscription) => subscription.id);
}
