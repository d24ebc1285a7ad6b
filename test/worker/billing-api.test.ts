import { env } from "cloudflare:workers";
import Stripe from "stripe";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cancelTenantSubscriptions } from "../../shared/billing/customers";
import { stripeClient } from "../../shared/billing/stripe-client";
import { apiFetch, customerTenant, deliver, event, fakeStripe, ownerTenant, tenantRow } from "./billing-support";
import { post } from "./mcp-support";
import { afterOneLeaseLifetime, config, openMgmtDb } from "./support";

afterEach(() => {
  vi.useRealTimers();
});

const vars = env as unknown as { STRIPE_API_BASE: string; STRIPE_SECRET_KEY: string };
const fakeBase = new URL(vars.STRIPE_API_BASE);
/** The fake Stripe, read through the real SDK the way an operator's script would. */
const stripe = new Stripe(vars.STRIPE_SECRET_KEY, {
  httpClient: Stripe.createFetchHttpClient(),
  host: fakeBase.hostname,
  port: Number(fakeBase.port),
  protocol: "http",
});

interface BillingBody {
  plan: string;
  stripe_customer_id: string | null;
  subscription: { id: string; status: string; current_period_end: string | null; cancel_at_period_end: boolean } | null;
  payment_failing: boolean;
  grace_period_ends_at: string | null;
}

async function checkout(key: string, plan: string) {
  return apiFetch("/api/billing/checkout", key, { method: "POST", body: JSON.stringify({ plan }) });
}

/** Pay for a checkout session on the fake, then deliver its signed webhooks as Stripe would. */
async function pay(url: string) {
  const sessionId = new URL(url).pathname.split("/").at(-1);
  const completed = await fakeStripe<{ events: { id: string; type: string }[] }>(`/checkout/${sessionId}/complete`);
  for (const event of completed.events) {
    const response = await deliver(event);
    expect(response.status, event.type).toBe(200);
  }
  return completed.events;
}

describe("tenant billing access", () => {
  it("needs the owner's key: 401 without one, 403 for a key without keys:manage", async () => {
    const { apiKey } = await ownerTenant();
    for (const [method, path] of [
      ["GET", "/api/billing"],
      ["POST", "/api/billing/checkout"],
      ["POST", "/api/billing/portal"],
    ] as const) {
      const anonymous = await apiFetch(path, "", { method });
      expect(anonymous.status, `${method} ${path}`).toBe(401);
      const agentKey = await apiFetch(path, apiKey.key, { method, body: method === "POST" ? "{}" : undefined });
      expect(agentKey.status, `${method} ${path}`).toBe(403);
      expect(await agentKey.json()).toMatchObject({ error: { code: "insufficient_scope" } });
    }
  });
});

describe("GET /api/billing", () => {
  it("shows a free tenant with no customer and no failing payment", async () => {
    const t = await ownerTenant();
    const response = await apiFetch("/api/billing", t.ownerKey);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      plan: "free",
      stripe_customer_id: null,
      subscription: null,
      payment_failing: false,
      grace_period_ends_at: null,
    });
  });
});

describe("POST /api/billing/portal", () => {
  it("answers 400 with a clear message when the tenant has no customer yet", async () => {
    const t = await ownerTenant();
    const response = await apiFetch("/api/billing/portal", t.ownerKey, { method: "POST" });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("no_billing_customer");
    expect(body.error.message).toContain("POST /api/billing/checkout");
  });
});

describe("POST /api/billing/checkout", () => {
  it("refuses a plan that is not sold", async () => {
    const t = await ownerTenant();
    for (const plan of ["free", "enterprise", 3]) {
      const response = await checkout(t.ownerKey, plan as string);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { type: "invalid_request", code: "invalid_parameter" } });
    }
  });

  it("creates the customer once with the tenant id, and a subscription-mode session with the configured URLs", async () => {
    const t = await ownerTenant();
    const first = await checkout(t.ownerKey, "team");
    expect(first.status).toBe(200);
    const body = (await first.json()) as { object: string; url: string };
    expect(body.object).toBe("checkout_session");
    expect(body.url).toMatch(new RegExp(`^${vars.STRIPE_API_BASE}/checkout/cs_test_`));
    const customerId = String((await tenantRow(t.tenant.id)).stripe_customer_id);
    expect(customerId).toMatch(/^cus_/);
    const customer = (await stripe.customers.retrieve(customerId)) as Stripe.Customer;
    expect(customer.metadata).toEqual({ tenant_id: t.tenant.id });
    expect(customer.email).toBe(t.tenant.ownerEmail);
    const session = await stripe.checkout.sessions.retrieve(body.url.split("/").at(-1) ?? "");
    expect(session).toMatchObject({
      mode: "subscription",
      customer: customerId,
      client_reference_id: t.tenant.id,
      success_url: "http://localhost/app/billing?checkout=success",
      cancel_url: "http://localhost/app/billing?checkout=cancelled",
    });

    const second = await checkout(t.ownerKey, "pro");
    expect(second.status).toBe(200);
    expect(String((await tenantRow(t.tenant.id)).stripe_customer_id)).toBe(customerId);
  });

  it("checkout → webhooks → /mcp is admitted under the new plan's limit", async () => {
    const t = await ownerTenant();
    const before = await post(t.apiKey.key, { jsonrpc: "2.0", id: 1, method: "tools/list" });
    expect(before.headers.get("x-ratelimit-limit")).toBe("60");

    const started = (await (await checkout(t.ownerKey, "pro")).json()) as { url: string };
    const events = await pay(started.url);
    expect(events.map((event) => event.type)).toEqual([
      "customer.subscription.created",
      "invoice.paid",
      "checkout.session.completed",
    ]);

    // This isolate may hold a lease granted under the free plan: the new one applies within its lifetime.
    afterOneLeaseLifetime();
    const after = await post(t.apiKey.key, { jsonrpc: "2.0", id: 2, method: "tools/list" });
    expect(after.status).toBe(200);
    expect(after.headers.get("x-ratelimit-limit")).toBe("300");
    const billing = (await (await apiFetch("/api/billing", t.ownerKey)).json()) as BillingBody;
    expect(billing).toMatchObject({ plan: "pro", payment_failing: false, grace_period_ends_at: null });
    expect(billing.subscription).toMatchObject({ status: "active", cancel_at_period_end: false });
    expect(Date.parse(billing.subscription?.current_period_end ?? "")).toBeGreaterThan(Date.now());
  });

  it("sends a tenant that already subscribes to the portal instead of a second subscription", async () => {
    const t = await ownerTenant();
    const started = (await (await checkout(t.ownerKey, "pro")).json()) as { url: string };
    await pay(started.url);
    const again = await checkout(t.ownerKey, "team");
    expect(again.status).toBe(200);
    const body = (await again.json()) as { object: string; url: string };
    expect(body.object).toBe("billing_portal_session");
    expect(body.url).toMatch(new RegExp(`^${vars.STRIPE_API_BASE}/portal/bps_`));
    const customer = String((await tenantRow(t.tenant.id)).stripe_customer_id);
    const subscriptions = await stripe.subscriptions.list({ customer, status: "all" });
    expect(subscriptions.data).toHaveLength(1);

    const portal = await apiFetch("/api/billing/portal", t.ownerKey, { method: "POST" });
    expect(portal.status).toBe(200);
    expect(await portal.json()).toMatchObject({ object: "billing_portal_session" });
  });

  it("answers 500 billing_error, without Stripe's words, when Stripe refuses (a customer deleted there), and logs why", async () => {
    const t = await customerTenant();
    const error = vi.spyOn(console, "error");
    const response = await checkout(t.ownerKey, "pro");
    expect(response.status).toBe(500);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("billing_error");
    expect(body.error.message).not.toContain(t.customer);
    const logged = error.mock.calls.map((call) => String(call[0])).find((line) => line.includes("Stripe call failed"));
    expect(logged).toContain(`No such customer: '${t.customer}'`);
    error.mockRestore();
  });

  it("a payment failure shows in GET /api/billing with the end of the grace period", async () => {
    const t = await ownerTenant();
    const started = (await (await checkout(t.ownerKey, "team")).json()) as { url: string };
    await pay(started.url);
    const subscriptionId = String((await tenantRow(t.tenant.id)).stripe_subscription_id);
    const failed = await fakeStripe<{ events: { type: string }[] }>(`/subscriptions/${subscriptionId}/status`, {
      status: "past_due",
    });
    for (const event of failed.events) expect((await deliver(event)).status).toBe(200);
    const billing = (await (await apiFetch("/api/billing", t.ownerKey)).json()) as BillingBody;
    expect(billing).toMatchObject({ plan: "team", payment_failing: true });
    expect(billing.subscription?.status).toBe("past_due");
    expect(Date.parse(billing.grace_period_ends_at ?? "")).toBeGreaterThan(Date.now() + 6 * 86_400_000);
  });
});

describe("cancelling a tenant's subscriptions (account deletion)", () => {
  it("cancels the live subscription at Stripe, whose deletion webhook then returns the tenant to free", async () => {
    const billing = config.billing;
    if (!billing) throw new Error("the test Worker has billing configured");
    const context = { mgmtDb: openMgmtDb(), billing, stripe: stripeClient(billing) };
    const t = await ownerTenant();
    expect(await cancelTenantSubscriptions(context, t.tenant.id)).toEqual([]);

    const started = (await (await checkout(t.ownerKey, "pro")).json()) as { url: string };
    await pay(started.url);
    const subscriptionId = String((await tenantRow(t.tenant.id)).stripe_subscription_id);
    expect(await cancelTenantSubscriptions(context, t.tenant.id)).toEqual([subscriptionId]);
    const cancelled = await stripe.subscriptions.retrieve(subscriptionId);
    expect(cancelled.status).toBe("canceled");
    expect(await cancelTenantSubscriptions(context, t.tenant.id)).toEqual([]);

    // Stripe then sends customer.subscription.deleted carrying the cancelled subscription.
    const deleted = await deliver(event("customer.subscription.deleted", cancelled));
    expect(await deleted.json()).toMatchObject({ outcome: "applied" });
    expect((await tenantRow(t.tenant.id)).plan).toBe("free");
  });
});
