import { Hono } from "hono";
import { z } from "zod";
import { assertOwnerVerified } from "../../../shared/accounts/verification";
import { getTenantBilling, openPortal, startCheckout } from "../../../shared/billing/customers";
import { AppError } from "../../../shared/errors";
import { admitted } from "../../admission";
import { authenticate } from "../../auth/authenticate";
import { requireScope } from "../../auth/require-scope";
import { requireOwner } from "../../auth/team-actor";
import { billingContext, logStripeFailures } from "../../billing/context";
import type { AppEnv } from "../../types";
import { parseJsonBody } from "../validation";

/**
 * `/api/billing`: the tenant's own subscription — read it, buy a plan
 * (Checkout), manage it (portal). The account owner's credential only,
 * admitted like every tenant request (rate limit), and the two routes that
 * call Stripe also spend the tenant's Stripe budget. See docs/billing.md.
 *
 * A suspended tenant may still read its billing and open the portal: it must
 * be able to see what it is charged, cancel, and fix a failing payment, or a
 * suspension would keep billing a customer who cannot stop it. It may not
 * start a checkout: buying a plan does not lift a suspension, and taking
 * money for a service the tenant cannot use is wrong.
 */
export const tenantBilling = new Hono<AppEnv>();

// The scope is checked before admission, so a key that may not buy spends none of the owner's Stripe budget.
tenantBilling.use(
  "*",
  logStripeFailures(),
  authenticate(),
  requireScope("keys:manage"),
  requireOwner("change billing"),
);

tenantBilling.get("/", admitted({ allowSuspended: true }), async (c) => {
  const account = await getTenantBilling(c.get("services").mgmtDb, c.get("auth").tenantId);
  if (!account) throw new AppError("not_found", "tenant not found", { code: "tenant_not_found" });
  return c.json({
    object: "billing",
    tenant_id: account.tenantId,
    plan: account.plan,
    stripe_customer_id: account.customerId,
    subscription: account.subscription && {
      id: account.subscription.id,
      status: account.subscription.status,
      current_period_end: account.subscription.currentPeriodEnd,
      cancel_at_period_end: account.subscription.cancelAtPeriodEnd,
    },
    payment_failing: account.paymentFailedAt !== null,
    payment_failed_at: account.paymentFailedAt,
    grace_period_ends_at: account.graceEndsAt,
  });
});

const checkoutBody = z.object({ plan: z.enum(["pro", "team"]) }).strict();

tenantBilling.post("/checkout", admitted({ stripeCall: true }), async (c) => {
  await assertOwnerVerified(c.get("services").mgmtDb, c.get("auth").tenantId, "change billing");
  const body = await parseJsonBody(c, checkoutBody);
  const start = await startCheckout(billingContext(c.get("services")), c.get("auth").tenantId, body.plan);
  c.get("logger").info("billing checkout started", {
    tenant: c.get("auth").tenantId,
    plan: body.plan,
    kind: start.kind,
  });
  return c.json({ object: start.kind === "checkout" ? "checkout_session" : "billing_portal_session", url: start.url });
});

tenantBilling.post("/portal", admitted({ allowSuspended: true, stripeCall: true }), async (c) => {
  await assertOwnerVerified(c.get("services").mgmtDb, c.get("auth").tenantId, "change billing");
  const portal = await openPortal(billingContext(c.get("services")), c.get("auth").tenantId);
  return c.json({ object: "billing_portal_session", url: portal.url });
});
