import { Hono } from "hono";
import { z } from "zod";
import { logStripeFailures } from "../../billing/context";
import type { AppEnv } from "../../types";
import { parseInput } from "../validation";
import { reconcileWithStripe } from "./operations";

/** `/api/admin/billing`: reconciliation with Stripe. Behind `requireAdmin`. */
export const adminBilling = new Hono<AppEnv>();

adminBilling.use("*", logStripeFailures());

const reconcileQuery = z.object({
  apply: z.enum(["true", "false"]).default("false"),
  tenant_id: z.string().min(1).max(100).optional(),
});

adminBilling.post("/reconcile", async (c) => {
  const query = parseInput(reconcileQuery, c.req.query());
  const apply = query.apply === "true";
  const { report, unpushed } = await reconcileWithStripe(c, { apply, tenantId: query.tenant_id });
  return c.json({
    object: "billing_reconciliation",
    applied: report.applied,
    checked: report.checked,
    drift: report.drift.map((drift) => ({
      tenant_id: drift.tenantId,
      customer_id: drift.customerId,
      local: { plan: drift.local.plan, subscription_id: drift.local.subscriptionId, status: drift.local.status },
      stripe: { plan: drift.stripe.plan, subscription_id: drift.stripe.subscriptionId, status: drift.stripe.status },
      fixed: drift.fixed,
    })),
    errors: report.errors.map((error) => ({ tenant_id: error.tenantId, message: error.message })),
    not_yet_in_force: unpushed,
  });
});
