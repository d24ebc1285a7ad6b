import { describe, expect, it } from "vitest";
import { sign } from "../../workers/console/tokens";
import { operatorBrowser, textOf } from "./admin-console-support";
import { ownerTenant } from "./billing-support";
import { Browser, captureEmail, linkIn } from "./console-support";
import { asTenant, config, newTenant, openMgmtDb, workerFetch } from "./support";

const mail = captureEmail();
const PASSWORD = "a perfectly fine passphrase";

/** A person signed in to the tenant console (signed up on the web, link opened). */
async function tenantConsoleBrowser(): Promise<Browser> {
  const browser = new Browser();
  const email = `tenant-${crypto.randomUUID().slice(0, 8)}@example.test`;
  const { csrf } = await browser.page("/signup");
  expect((await browser.post("/signup", { csrf, email, password: PASSWORD, team_name: "Tenant team" })).status).toBe(
    200,
  );
  const confirm = await browser.page(linkIn(await mail.next(email), "/verify"));
  const token = /name="token" value="([^"]+)"/.exec(confirm.html)?.[1] ?? "";
  expect((await browser.post("/verify", { csrf: confirm.csrf, token })).status).toBe(303);
  expect((await browser.fetch("/app/connect")).status).toBe(200);
  return browser;
}

async function plan(tenantId: string): Promise<string> {
  const result = await openMgmtDb().execute({ sql: "SELECT plan FROM tenants WHERE id = ?", args: [tenantId] }, "read");
  return String(result.rows[0]?.plan);
}

async function auditOf(tenantId: string, action: string) {
  const result = await openMgmtDb().execute(
    {
      sql: "SELECT actor, metadata FROM audit_log WHERE tenant_id = ? AND action = ? ORDER BY id",
      args: [tenantId, action],
    },
    "read",
  );
  return result.rows.map((row) => ({ actor: String(row.actor), ...JSON.parse(String(row.metadata)) }));
}

describe("admin console: who gets in", () => {
  it("no tenant credential, tenant session, API bearer token or forged cookie reaches any /admin page", async () => {
    const target = await newTenant();
    const tenantBrowser = await tenantConsoleBrowser();
    const id = target.tenant.id;
    const pages = [
      "/admin",
      "/admin/tenants",
      `/admin/tenants?q=${encodeURIComponent(target.tenant.ownerEmail)}`,
      `/admin/tenants/${id}`,
      "/admin/webhooks",
      "/admin/webhooks/evt_anything",
      "/admin/moves",
      "/admin/health",
      "/admin/elsewhere",
    ];
    const actions = [
      [`/admin/tenants/${id}/change`, { plan: "team", status: "active", rate_limit_override: "", confirm: "yes" }],
      [`/admin/tenants/${id}/sessions/reap`, { idle_minutes: "0" }],
      ["/admin/webhooks/evt_anything/replay", { force: "true" }],
      ["/admin/reconcile", { apply: "true" }],
      [`/admin/moves/${id}/mig_x/cancel`, { confirm: "yes" }],
    ] as const;
    // A cookie of the right shape whose MAC was made with another key.
    const forged = new Browser();
    forged.cookies.set("__Host-muninn-admin", `${"a".repeat(32)}.${Date.now() + 600_000}.${"x".repeat(43)}.mallory`);
    const callers: [string, (path: string, init?: RequestInit) => Promise<Response>][] = [
      ["nobody", (path, init) => new Browser().fetch(path, init)],
      [
        "tenant API key",
        (path, init) => workerFetch(path, { ...init, headers: asTenant(target.apiKey.key), redirect: "manual" }),
      ],
      [
        "admin token as a bearer (an API credential, not a page session)",
        (path, init) =>
          workerFetch(path, { ...init, headers: { authorization: `Bearer ${config.adminToken}` }, redirect: "manual" }),
      ],
      ["tenant console session", (path, init) => tenantBrowser.fetch(path, init)],
      ["forged admin cookie", (path, init) => forged.fetch(path, init)],
    ];
    for (const [who, call] of callers) {
      for (const path of pages) {
        const response = await call(path);
        expect(response.status, `${who} GET ${path}`).toBe(303);
        expect(response.headers.get("location"), `${who} GET ${path}`).toBe("/admin/signin");
      }
      for (const [path, fields] of actions) {
        const response = await call(path, {
          method: "POST",
          body: new URLSearchParams(fields),
          headers: { "content-type": "application/x-www-form-urlencoded" },
        });
        expect(response.status, `${who} POST ${path}`).toBe(303);
        expect(response.headers.get("location"), `${who} POST ${path}`).toBe("/admin/signin");
      }
    }
    expect(await plan(id)).toBe("free");
  });

  it("an expired operator session, correctly signed, is refused", async () => {
    const browser = new Browser();
    const nonce = "b".repeat(32);
    const expires = String(Date.now() - 1000);
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(config.adminToken));
    const tokenHash = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    const mac = await sign(
      config.dbTokenEncryptionKey,
      "muninn admin session v1",
      `${nonce}.${expires}.alice\n${tokenHash}`,
    );
    // The same cookie with a live expiry gets in, so the refusal below is the expiry's doing.
    const live = String(Date.now() + 60_000);
    const liveMac = await sign(
      config.dbTokenEncryptionKey,
      "muninn admin session v1",
      `${nonce}.${live}.alice\n${tokenHash}`,
    );
    browser.cookies.set("__Host-muninn-admin", `${nonce}.${live}.${liveMac}.alice`);
    expect((await browser.fetch("/admin/tenants")).status).toBe(200);
    browser.cookies.set("__Host-muninn-admin", `${nonce}.${expires}.${mac}.alice`);
    const refused = await browser.fetch("/admin/tenants");
    expect(refused.status).toBe(303);
    expect(refused.headers.get("location")).toBe("/admin/signin");
  });

  it("signs in with the admin token only: a wrong token is 401, the token never appears in a URL or page, the sign-in is audited", async () => {
    const browser = new Browser();
    const { csrf, html } = await browser.page("/admin/signin");
    expect(html).toContain('type="password"');
    const wrong = await browser.post("/admin/signin", { csrf, name: "alice", token: "not-the-token" });
    expect(wrong.status).toBe(401);
    expect(textOf(await wrong.text())).toContain("That is not the admin token.");
    expect(browser.cookies.has("__Host-muninn-admin")).toBe(false);

    const noCsrf = await browser.post("/admin/signin", { name: "alice", token: config.adminToken });
    expect(noCsrf.status).toBe(403);
    expect(browser.cookies.has("__Host-muninn-admin")).toBe(false);

    const ok = await browser.post("/admin/signin", { csrf, name: "alice.smith", token: config.adminToken });
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe("/admin/tenants");
    const cookie = ok.headers.getSetCookie().find((line) => line.startsWith("__Host-muninn-admin="));
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/Secure/i);
    expect(cookie).toMatch(/Max-Age=1800/);
    expect(cookie).not.toContain(config.adminToken);
    const page = await browser.page("/admin/tenants");
    expect(page.response.status).toBe(200);
    expect(page.html).not.toContain(config.adminToken);
    expect(textOf(page.html)).toContain("signed in as alice.smith");
    expect(page.response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    const audit = await openMgmtDb().execute(
      "SELECT actor FROM audit_log WHERE action = 'admin.sign_in' ORDER BY id DESC LIMIT 5",
      "read",
    );
    expect(audit.rows.map((row) => row.actor)).toContain("admin:alice.smith");

    // Sign out ends it.
    expect((await browser.post("/admin/signout", { csrf: page.csrf })).status).toBe(303);
    expect((await browser.fetch("/admin/tenants")).status).toBe(303);
  });

  it("sign-in attempts are limited per address like the other sign-ins", async () => {
    const browser = new Browser();
    const { csrf } = await browser.page("/admin/signin");
    const statuses: number[] = [];
    for (let attempt = 0; attempt <= config.ipRateLimitPerMinute; attempt++) {
      statuses.push((await browser.post("/admin/signin", { csrf, name: "guesser", token: `guess-${attempt}` })).status);
    }
    expect(statuses.slice(0, config.ipRateLimitPerMinute).every((status) => status === 401)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
    // Even the right token waits out the minute: the limit is on attempts, not on failures alone.
    expect((await browser.post("/admin/signin", { csrf, name: "guesser", token: config.adminToken })).status).toBe(429);
    // Another address is unaffected.
    await operatorBrowser("bob");
  });
});

describe("admin console: tenants", () => {
  it("finds a tenant by id, email and team name, and shows its plan, usage, rate window, database and audit", async () => {
    const created = await newTenant("pro");
    const browser = await operatorBrowser();
    const { tenant } = created;
    for (const q of [tenant.id, tenant.ownerEmail.toUpperCase(), tenant.orgName]) {
      const found = await browser.page(`/admin/tenants?q=${encodeURIComponent(q)}`);
      expect(found.html, q).toContain(`/admin/tenants/${tenant.id}`);
    }
    const nothing = await browser.page("/admin/tenants?q=no-such-tenant-anywhere");
    expect(textOf(nothing.html)).toContain("No tenant matches.");

    await workerFetch("/api/me", { headers: asTenant(created.apiKey.key) });
    const page = textOf((await browser.page(`/admin/tenants/${tenant.id}`)).html);
    expect(page).toContain(tenant.ownerEmail);
    expect(page).toMatch(/Plan pro/);
    expect(page).toMatch(/Tool calls 0 of \d+/);
    expect(page).toMatch(/Limit \d+ per 60 s \(plan\)/);
    expect(page).toMatch(/Schema version \d+/);
    expect(page).toContain("tenant.create");

    const nowhere = await browser.fetch("/admin/elsewhere");
    expect(nowhere.status).toBe(404);
    expect(textOf(await nowhere.text())).toContain("There is no page /admin/elsewhere.");
    const missing = await browser.fetch("/admin/tenants/t_missing");
    expect(missing.status).toBe(404);
    expect(textOf(await missing.text())).toContain("no tenant");
  });

  it("changes plan, status and override only after confirmation, audited with the operator's name, in force at once", async () => {
    const created = await ownerTenant();
    const id = created.tenant.id;
    const browser = await operatorBrowser("carol");
    const { csrf } = await browser.page(`/admin/tenants/${id}`);
    const fields = { csrf, plan: "team", status: "active", rate_limit_override: "250" };

    const review = await browser.post(`/admin/tenants/${id}/change`, fields);
    expect(review.status).toBe(200);
    const reviewText = textOf(await review.text());
    expect(reviewText).toContain("Plan free team");
    expect(reviewText).toContain("Rate override none (plan's limit) 250 / min");
    expect(await plan(id)).toBe("free");

    const forged = await browser.post(`/admin/tenants/${id}/change`, { ...fields, csrf: "wrong", confirm: "yes" });
    expect(forged.status).toBe(403);
    expect(await plan(id)).toBe("free");

    const done = await browser.post(`/admin/tenants/${id}/change`, { ...fields, confirm: "yes" });
    expect(done.status).toBe(303);
    expect(done.headers.get("location")).toBe(`/admin/tenants/${id}?notice=changed`);
    expect(await plan(id)).toBe("team");
    const me = (await (await workerFetch("/api/me", { headers: asTenant(created.ownerKey) })).json()) as {
      plan: string;
    };
    expect(me.plan).toBe("team");
    const entries = await auditOf(id, "tenant.update");
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor: "admin:carol",
      before: { plan: "free", rateLimitOverride: null },
      after: { plan: "team", rateLimitOverride: 250 },
    });
    const after = textOf((await browser.page(`/admin/tenants/${id}?notice=changed`)).html);
    expect(after).toContain("Changed. The audit log has an entry naming you.");
    expect(after).toMatch(/admin:carol tenant\.update/);

    const bad = await browser.post(`/admin/tenants/${id}/change`, {
      ...fields,
      rate_limit_override: "-5",
      confirm: "yes",
    });
    expect(bad.headers.get("location")).toBe(`/admin/tenants/${id}?notice=invalid_override`);
    expect(await auditOf(id, "tenant.update")).toHaveLength(1);
  });

  it("reap idle closes the tenant's sessions and is audited", async () => {
    const created = await newTenant();
    const id = created.tenant.id;
    const browser = await operatorBrowser();
    const { csrf } = await browser.page(`/admin/tenants/${id}`);
    const reaped = await browser.post(`/admin/tenants/${id}/sessions/reap`, { csrf, idle_minutes: "0" });
    expect(reaped.status).toBe(303);
    expect(reaped.headers.get("location")).toMatch(/notice=reaped&count=0/);
    expect(await auditOf(id, "sessions.close")).toEqual([
      expect.objectContaining({ actor: "admin:alice", closed: 0, idleSeconds: 0 }),
    ]);
  });
});

describe("admin console: moves and health", () => {
  it("health shows /health, /ready and the breakers; with no Prometheus configured it says so", async () => {
    const browser = await operatorBrowser();
    const page = textOf((await browser.page("/admin/health")).html);
    expect(page).toMatch(/\/health Status ok/);
    expect(page).toMatch(/Ready ready/);
    expect(page).toMatch(/Management DB closed/);
    expect(page).toContain("No Prometheus is configured");
  });

  it("moves lists open moves (none here) and refuses an action on a move that does not exist", async () => {
    const browser = await operatorBrowser();
    const { html, csrf } = await browser.page("/admin/moves");
    expect(textOf(html)).toContain("Database moves");
    const created = await newTenant();
    const missing = await browser.post(`/admin/moves/${created.tenant.id}/mig_none/cancel`, { csrf, confirm: "yes" });
    expect(missing.status).toBe(404);
  });
});
