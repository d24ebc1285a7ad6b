/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { z } from "zod";
import { assertOwnerVerified } from "../../../shared/accounts/verification";
import { getTenantBilling, openPortal, startCheckout } from "../../../shared/billing/customers";
import type { BillingConfig } from "../../../shared/config";
import { billingContext } from "../../billing/context";
import { admitAction, failurePage } from "../admission";
import { type ConsoleContext, type ConsoleEnv, signedIn } from "../context";
import { applyPageHeaders } from "../page-headers";
import { BillingPage, type CheckoutReturn } from "../pages/billing";
import { render } from "../render";
import { requireSignIn } from "../session";
import { refuseUnlessOwnerNow } from "../team-access";
import { postedForm } from "./app";
import { viewer } from "./viewer";

/**
 * `/app/billing`: the plan, Upgrade (Stripe Checkout) and Manage billing
 * (the portal), through the same domain functions and the same admission
 * as `/api/billing/*` (docs/billing.md). Checkout and the portal come back
 * here (`BILLING_*_URL`).
 */
export const billingPages = new Hono<ConsoleEnv>();
billingPages.use("/app/billing", requireSignIn());
billingPages.use("/app/billing/*", requireSignIn());

const BACK = { href: "/app/billing", label: "Back to billing" };

/**
 * Browsers apply `form-action` to the redirect after a submission, so the
 * billing page's forms may end at Stripe's Checkout and portal — those
 * hosts (or the local fake's origin) and no others.
 */
function stripeTargets(billing: BillingConfig | null): string[] {
  if (!billing) return [];
  return billing.apiBase ? [billing.apiBase] : ["https://checkout.stripe.com", "https://billing.stripe.com"];
}

billingPages.get("/app/billing", async (c) => {
  const { mgmtDb, config } = c.get("services");
  const account = await getTenantBilling(mgmtDb, signedIn(c).account.tenantId);
  if (!account) return failurePage(c, new Error("the signed-in account has no tenant"), BACK);
  const checkout = c.req.query("checkout");
  const response = await render(
    c,
    <BillingPage
      viewer={viewer(c)}
      account={account}
      limits={config.planLimits}
      configured={config.billing !== null}
      checkout={checkout === "success" || checkout === "cancelled" ? (checkout as CheckoutReturn) : null}
    />,
  );
  applyPageHeaders(response.headers, stripeTargets(config.billing));
  return response;
});

const checkoutForm = z.object({ plan: z.enum(["pro", "team"]) });

/**
 * Refused (and nothing sent to Stripe) unless the owner confirmed their
 * address — the console branch's rule, and the API's — then admitted as
 * the API route is (a request, and a unit of the tenant's Stripe budget).
 */
async function changeBilling(
  c: ConsoleContext,
  admission: { allowSuspended?: boolean },
  go: (tenantId: string) => Promise<string>,
): Promise<Response> {
  const notOwner = await refuseUnlessOwnerNow(c, "change billing", BACK);
  if (notOwner) return notOwner;
  const tenantId = signedIn(c).account.tenantId;
  try {
    await assertOwnerVerified(c.get("services").mgmtDb, tenantId, "change billing");
    const refused = await admitAction(c, { ...admission, stripeCall: true }, BACK);
    if (refused) return refused;
    return c.redirect(await go(tenantId), 303);
  } catch (error) {
    return failurePage(c, error, BACK);
  }
}

billingPages.post("/app/billing/checkout", async (c) => {
  const form = await postedForm(c);
  if (form instanceof Response) return form;
  const parsed = checkoutForm.safeParse({ plan: form.get("plan") });
  if (!parsed.success) return c.redirect("/app/billing", 303);
  return changeBilling(c, {}, async (tenantId) => {
    const start = await startCheckout(billingContext(c.get("services")), tenantId, parsed.data.plan);
    c.get("logger").info("billing checkout started", { tenant: tenantId, plan: parsed.data.plan, kind: start.kind });
    return start.url;
  });
});

billingPages.post("/app/billing/portal", async (c) => {
  const form = await postedForm(c);
  if (form instanceof Response) return form;
  return changeBilling(
    c,
    { allowSuspended: true },
    async (tenantId) => (await openPortal(billingContext(c.get("services")), tenantId)).url,
  );
});
