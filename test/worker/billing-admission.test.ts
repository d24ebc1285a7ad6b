import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { api } from "../../workers/api/routes";
import { adminFetch, apiFetch, ownerTenant } from "./billing-support";
import { post as mcpPost, TOOLS_LIST } from "./mcp-support";
import { config, openMgmtDb } from "./support";

const stripeEnv = env as unknown as { STRIPE_API_BASE: string; STRIPE_SECRET_KEY: string };
const stripeBase = stripeEnv.STRIPE_API_BASE;

/** A tenant whose Stripe customer exists at the fake Stripe, as after its first checkout. */
async function customerTenant(plan: "free" | "pro" = "free") {
  const owner = await ownerTenant(plan);
  const response = await fetch(`${stripeBase}/v1/customers`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${stripeEnv.STRIPE_SECRET_KEY}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ email: "owner@example.test", "metadata[tenant_id]": owner.tenant.id }),
  });
  const customer = ((await response.json()) as { id: string }).id;
  await openMgmtDb().execute(
    { sql: "UPDATE tenants SET stripe_customer_id = ? WHERE id = ?", args: [customer, owner.tenant.id] },
    "write",
  );
  return { ...owner, customer, tenantId: owner.tenant.id };
}

afterEach(() => {
  vi.restoreAllMocks();
});

function patchTenant(id: string, body: Record<string, unknown>) {
  return adminFetch(`/api/tenants/${id}`, {
    method: "PATCH",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** Counts the requests the Worker sends to Stripe's API (the fake) from now on, by path. */
function countStripeCalls(): (path: string) => number {
  const spy = vi.spyOn(globalThis, "fetch");
  return (path) =>
    spy.mock.calls.filter(([input]) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      return url.origin === new URL(stripeBase).origin && url.pathname === path;
    }).length;
}

const checkout = (key: string) => apiFetch("/api/billing/checkout", key, { method: "POST", body: '{"plan":"pro"}' });

describe("billing routes are admitted and capped", () => {
  it(`70 concurrent checkouts from one tenant: ${config.billingStripeCallsPerMinute} reach Stripe, the rest are 429 with Retry-After`, async () => {
    const t = await customerTenant();
    const stripeCalls = countStripeCalls();
    const responses = await Promise.all(Array.from({ length: 70 }, () => checkout(t.ownerKey)));
    const ok = responses.filter((response) => response.status === 200);
    const refused = responses.filter((response) => response.status === 429);
    expect(ok).toHaveLength(config.billingStripeCallsPerMinute);
    expect(refused).toHaveLength(70 - config.billingStripeCallsPerMinute);
    for (const response of refused) {
      expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(Number(response.headers.get("retry-after"))).toBeLessThanOrEqual(61);
    }
    expect(await refused[0]?.json()).toMatchObject({
      error: { type: "rate_limited", code: "billing_rate_limit_exceeded" },
    });
    expect(stripeCalls("/v1/checkout/sessions")).toBe(config.billingStripeCallsPerMinute);

    // The portal shares the budget; reading billing does not spend it.
    const portal = await apiFetch("/api/billing/portal", t.ownerKey, { method: "POST" });
    expect(portal.status).toBe(429);
    expect(stripeCalls("/v1/billing_portal/sessions")).toBe(0);
    expect((await apiFetch("/api/billing", t.ownerKey)).status).toBe(200);

    // Another tenant is unaffected.
    const other = await customerTenant();
    expect((await checkout(other.ownerKey)).status).toBe(200);
  });

  it("billing requests count against the tenant's rate limit like any tenant request", async () => {
    const t = await customerTenant();
    expect((await patchTenant(t.tenantId, { rate_limit_override: 2 })).status).toBe(200);
    const first = await apiFetch("/api/billing", t.ownerKey);
    expect(first.status).toBe(200);
    expect(first.headers.get("ratelimit-policy")).toBe('"tenant";q=2;w=60');
    expect((await apiFetch("/api/billing/portal", t.ownerKey, { method: "POST" })).status).toBe(200);
    const refused = await apiFetch("/api/billing", t.ownerKey);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: { code: "rate_limit_exceeded" } });
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    // A request the tenant limit refuses spends none of the Stripe budget and calls no Stripe.
    const stripeCalls = countStripeCalls();
    expect((await checkout(t.ownerKey)).status).toBe(429);
    expect(stripeCalls("/v1/checkout/sessions")).toBe(0);
  });
});

/**
 * What a suspended tenant may still do, for every tenant route. A route
 * added to /api without a line here fails the first test: decide, then add it.
 */
const SUSPENDED: Record<string, "allowed" | "refused"> = {
  "GET /me": "refused",
  "GET /usage": "refused",
  "GET /keys": "refused",
  "POST /keys": "refused",
  "DELETE /keys/:id": "refused",
  "GET /oauth/grants": "refused",
  "DELETE /oauth/grants/:id": "refused",
  "GET /export": "refused",
  "POST /import": "refused",
  "DELETE /account": "refused",
  // A suspended team changes no members: nobody joins or leaves through its credentials until it is active.
  "GET /members": "refused",
  "POST /members": "refused",
  "PATCH /members/:id": "refused",
  "DELETE /members/:id": "refused",
  "DELETE /members/me": "refused",
  "GET /invitations": "refused",
  "POST /invitations": "refused",
  "DELETE /invitations/:id": "refused",
  "POST /invitations/:id/resend": "refused",
  "POST /invitations/:token/accept": "refused",
  // Billing stays open so a suspended customer can see what it pays, cancel and fix payment…
  "GET /billing": "allowed",
  "POST /billing/portal": "allowed",
  // …but not buy: a plan does not lift a suspension.
  "POST /billing/checkout": "refused",
};

/** The operator's and anonymous routes of the /api app; everything else is a tenant route. */
const NOT_TENANT = /^\/(tenants|audit-log|admin|signup)(\/|$)/;

describe("suspended tenants, route by route", () => {
  it("every tenant route of /api has a decision", () => {
    const routes = new Set(
      api.routes
        .filter((route) => route.method !== "ALL" && !NOT_TENANT.test(route.path))
        .map((route) => `${route.method} ${route.path.replace(/\/$/, "") || "/"}`),
    );
    expect([...routes].sort()).toEqual(Object.keys(SUSPENDED).sort());
  });

  it("answers each route as decided, and the refused ones change nothing", async () => {
    const t = await customerTenant("pro");
    expect((await patchTenant(t.tenantId, { status: "suspended" })).status).toBe(200);
    const requests: Record<string, () => Promise<Response>> = {
      "GET /me": () => apiFetch("/api/me", t.ownerKey),
      "GET /usage": () => apiFetch("/api/usage", t.ownerKey),
      "GET /keys": () => apiFetch("/api/keys", t.ownerKey),
      "POST /keys": () =>
        apiFetch("/api/keys", t.ownerKey, { method: "POST", body: '{"name":"new","scopes":["mcp:read"]}' }),
      "DELETE /keys/:id": () => apiFetch(`/api/keys/${t.apiKey.id}`, t.ownerKey, { method: "DELETE" }),
      "GET /oauth/grants": () => apiFetch("/api/oauth/grants", t.ownerKey),
      "DELETE /oauth/grants/:id": () => apiFetch("/api/oauth/grants/nope", t.ownerKey, { method: "DELETE" }),
      "GET /export": () => apiFetch("/api/export", t.ownerKey),
      "POST /import": () =>
        apiFetch("/api/import?format=markdown", t.ownerKey, {
          method: "POST",
          headers: { "content-type": "text/markdown" },
          body: "# planted\n\nremember this",
        }),
      "DELETE /account": () =>
        apiFetch("/api/account", t.ownerKey, { method: "DELETE", body: JSON.stringify({ confirm: t.tenantId }) }),
      "GET /members": () => apiFetch("/api/members", t.ownerKey),
      "POST /members": () =>
        apiFetch("/api/members", t.ownerKey, { method: "POST", body: '{"email":"new@example.test"}' }),
      "PATCH /members/:id": () =>
        apiFetch("/api/members/usr_x", t.ownerKey, { method: "PATCH", body: '{"role":"viewer"}' }),
      "DELETE /members/:id": () => apiFetch("/api/members/usr_x", t.ownerKey, { method: "DELETE" }),
      "DELETE /members/me": () => apiFetch("/api/members/me", t.ownerKey, { method: "DELETE" }),
      "GET /invitations": () => apiFetch("/api/invitations", t.ownerKey),
      "POST /invitations": () =>
        apiFetch("/api/invitations", t.ownerKey, { method: "POST", body: '{"email":"new@example.test"}' }),
      "DELETE /invitations/:id": () => apiFetch("/api/invitations/inv_x", t.ownerKey, { method: "DELETE" }),
      "POST /invitations/:id/resend": () => apiFetch("/api/invitations/inv_x/resend", t.ownerKey, { method: "POST" }),
      "POST /invitations/:token/accept": () => apiFetch("/api/invitations/tok/accept", t.ownerKey, { method: "POST" }),
      "GET /billing": () => apiFetch("/api/billing", t.ownerKey),
      "POST /billing/portal": () => apiFetch("/api/billing/portal", t.ownerKey, { method: "POST" }),
      "POST /billing/checkout": () => checkout(t.ownerKey),
    };
    for (const [route, decision] of Object.entries(SUSPENDED)) {
      const send = requests[route];
      if (!send) throw new Error(`no request for ${route}`);
      const response = await send();
      if (decision === "allowed") {
        expect(response.status, route).toBe(200);
      } else {
        expect(response.status, route).toBe(403);
        expect(await response.json(), route).toMatchObject({ error: { code: "tenant_suspended" } });
      }
    }
    const mcp = await mcpPost(t.ownerKey, TOOLS_LIST);
    expect(mcp.status).toBe(403);

    // Nothing the refused routes would have done happened.
    const keys = await openMgmtDb().execute(
      {
        sql: "SELECT COUNT(*) AS n, COUNT(revoked_at) AS revoked FROM api_keys WHERE tenant_id = ?",
        args: [t.tenantId],
      },
      "read",
    );
    expect(keys.rows[0]).toMatchObject({ n: 2, revoked: 0 });
    const tenant = await openMgmtDb().execute(
      { sql: "SELECT status FROM tenants WHERE id = ?", args: [t.tenantId] },
      "read",
    );
    expect(tenant.rows[0]?.status).toBe("suspended");
  });

  it("the portal stays rate-limited for a suspended tenant", async () => {
    const t = await customerTenant();
    expect((await patchTenant(t.tenantId, { status: "suspended" })).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i <= config.billingStripeCallsPerMinute; i++) {
      statuses.push((await apiFetch("/api/billing/portal", t.ownerKey, { method: "POST" })).status);
    }
    expect(statuses.slice(0, -1).every((status) => status === 200)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
  });
});
