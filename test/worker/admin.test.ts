import { describe, expect, it } from "vitest";
import { ADMIN, asTenant, config, leasesSettled, newTenant, openMgmtDb, workerFetch } from "./support";

const adminToken = config.adminToken;

/** An admin API request, with another bearer token when `token` is given. */
function adminFetch(path: string, init: RequestInit = {}, token = adminToken) {
  const headers = new Headers({ ...ADMIN, ...(init.headers as Record<string, string>) });
  headers.set("authorization", `Bearer ${token}`);
  return workerFetch(path, { ...init, headers });
}

function patch(id: string, body: unknown, headers: Record<string, string> = {}) {
  return adminFetch(`/api/tenants/${id}`, { method: "PATCH", body: JSON.stringify(body), headers });
}

interface TenantBody {
  id: string;
  org_name: string;
  email: string;
  plan: string;
  status: string;
  rate_limit_override: number | null;
  quotas: Record<string, { limit: number | null; source: string }>;
  usage: { period: string; tool_calls: number; requests: number };
  api_keys_count: number;
  database: { name: string; url: string; schema_version: number };
  created_at: string;
}

interface AuditBody {
  data: { actor: string; action: string; tenant_id: string; before: unknown; after: unknown; ip: string | null }[];
  has_more: boolean;
  next_cursor: string | null;
}

describe("admin API access", () => {
  const routes: [string, string, unknown?][] = [
    ["GET", "/api/tenants"],
    ["GET", "/api/tenants/t000"],
    ["PATCH", "/api/tenants/t000", { plan: "pro" }],
    ["GET", "/api/tenants/t000/rate-limit"],
    ["GET", "/api/audit-log"],
  ];

  it("answers 401 without a token and 403 with a tenant's API key or a wrong token, on every admin route", async () => {
    const { apiKey } = await newTenant();
    for (const [method, path, body] of routes) {
      const init = { method, body: body ? JSON.stringify(body) : undefined };
      const anonymous = await workerFetch(`${path}`, init);
      expect(anonymous.status, `${method} ${path} without a token`).toBe(401);
      expect(anonymous.headers.get("www-authenticate")).toContain("Bearer");
      for (const token of [apiKey.key, `${adminToken}x`, adminToken.slice(0, -1)]) {
        const refused = await adminFetch(path, init, token);
        expect(refused.status, `${method} ${path} with ${token.slice(0, 6)}…`).toBe(403);
        expect(await refused.json()).toMatchObject({ error: { type: "forbidden", code: "admin_token_required" } });
      }
    }
  });
});

describe("GET /api/tenants/:id", () => {
  it("shows plan, quotas with their source, usage, override, keys, database and creation time", async () => {
    const { tenant, database, apiKey } = await newTenant("pro");
    await workerFetch(`/api/usage`, { headers: asTenant(apiKey.key) });
    // The request was admitted from a lease: it is in usage once the lease is returned.
    await leasesSettled(tenant.id);

    const response = await adminFetch(`/api/tenants/${tenant.id}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as TenantBody;
    expect(body).toMatchObject({
      id: tenant.id,
      org_name: tenant.orgName,
      email: tenant.ownerEmail,
      plan: "pro",
      status: "active",
      rate_limit_override: null,
      api_keys_count: 1,
      database: { name: database.name, url: database.url, schema_version: database.schemaVersion },
      created_at: tenant.createdAt,
    });
    // The runbook reads `.plan, .quotas`.
    expect(body.quotas).toEqual({
      requests_per_minute: { limit: 300, source: "plan", window_seconds: 60 },
      tool_calls_per_month: { limit: 100_000, source: "plan" },
      sessions: { limit: 50, source: "plan" },
    });
    expect(body.usage).toMatchObject({ period: new Date().toISOString().slice(0, 7), requests: 1, tool_calls: 0 });
  });

  it("answers 404 for a tenant that does not exist", async () => {
    const response = await adminFetch("/api/tenants/tnope");
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { type: "not_found", code: "tenant_not_found" } });
  });
});

describe("PATCH /api/tenants/:id", () => {
  it("changes plan, override and status, and audits each change with actor, before and after", async () => {
    const { tenant } = await newTenant("free");
    const upgraded = await patch(
      tenant.id,
      { plan: "pro" },
      { "x-admin-actor": "alice", "cf-connecting-ip": "203.0.113.9" },
    );
    expect(upgraded.status).toBe(200);
    expect(((await upgraded.json()) as TenantBody).plan).toBe("pro");

    const throttled = await patch(tenant.id, { rate_limit_override: 10, status: "suspended" });
    const body = (await throttled.json()) as TenantBody;
    expect(body).toMatchObject({ rate_limit_override: 10, status: "suspended" });
    expect(body.quotas.requests_per_minute).toMatchObject({ limit: 10, source: "override" });

    const audit = await adminFetch(`/api/audit-log?tenant_id=${tenant.id}&action=tenant.update`);
    const { data } = (await audit.json()) as AuditBody;
    expect(data).toEqual([
      expect.objectContaining({
        actor: "admin",
        action: "tenant.update",
        tenant_id: tenant.id,
        before: { plan: "pro", status: "active", rateLimitOverride: null },
        after: { plan: "pro", status: "suspended", rateLimitOverride: 10 },
      }),
      expect.objectContaining({
        actor: "admin:alice",
        ip: "203.0.113.9",
        before: { plan: "free", status: "active", rateLimitOverride: null },
        after: { plan: "pro", status: "active", rateLimitOverride: null },
      }),
    ]);
  });

  it("writes no audit entry when nothing changes", async () => {
    const { tenant } = await newTenant("free");
    expect((await patch(tenant.id, { plan: "free" })).status).toBe(200);
    const audit = await adminFetch(`/api/audit-log?tenant_id=${tenant.id}&action=tenant.update`);
    expect(((await audit.json()) as AuditBody).data).toEqual([]);
  });

  it("records every one of several concurrent changes with the true before state", async () => {
    const { tenant } = await newTenant("free");
    const overrides = [11, 12, 13, 14, 15];
    const responses = await Promise.all(overrides.map((value) => patch(tenant.id, { rate_limit_override: value })));
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200, 200]);
    const audit = await adminFetch(`/api/audit-log?tenant_id=${tenant.id}&action=tenant.update`);
    const entries = ((await audit.json()) as AuditBody).data.reverse() as {
      before: { rateLimitOverride: number | null };
      after: { rateLimitOverride: number };
    }[];
    expect(entries).toHaveLength(5);
    // Each change starts from where the previous one left off: a chain, not five stale "befores".
    expect(entries[0]?.before.rateLimitOverride).toBeNull();
    for (let i = 1; i < entries.length; i++) {
      expect(entries[i]?.before.rateLimitOverride).toBe(entries[i - 1]?.after.rateLimitOverride);
    }
  });

  it("rejects unknown fields, bad values and empty bodies with a 400 naming the field", async () => {
    const { tenant } = await newTenant("free");
    const cases: [unknown, RegExp][] = [
      [{ plan: "enterprise" }, /^plan:/],
      [{ rate_limit_override: 0 }, /^rate_limit_override:/],
      [{ rate_limit_override: 2.5 }, /^rate_limit_override:/],
      [{ status: "deleted" }, /^status:/],
      [{ owner_email: "x@example.test" }, /owner_email|unrecognized/i],
      [{}, /at least one/],
    ];
    for (const [body, message] of cases) {
      const response = await patch(tenant.id, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      const { error } = (await response.json()) as { error: { type: string; message: string } };
      expect(error.type).toBe("invalid_request");
      expect(error.message).toMatch(message);
    }
    const notJson = await adminFetch(`/api/tenants/${tenant.id}`, { method: "PATCH", body: "{plan" });
    expect(notJson.status).toBe(400);
  });

  it("answers 404 for an unknown tenant and audits nothing", async () => {
    const id = `tnope${crypto.randomUUID().slice(0, 8)}`;
    const response = await patch(id, { plan: "pro" });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { type: "not_found", code: "tenant_not_found" } });
    const listed = await adminFetch(`/api/audit-log?tenant_id=${id}`);
    expect(((await listed.json()) as { data: unknown[] }).data).toEqual([]);
    const rows = await openMgmtDb().execute(
      { sql: "SELECT COUNT(*) AS n FROM audit_log WHERE tenant_id = ? OR target = ?", args: [id, id] },
      "read",
    );
    expect(rows.rows[0]?.n).toBe(0);
  });
});

describe("GET /api/tenants/:id/rate-limit", () => {
  it("shows the live window: limit, source, used, remaining and reset time", async () => {
    const { tenant, apiKey } = await newTenant("free");
    for (let i = 0; i < 3; i++) {
      await workerFetch(`/api/usage`, { headers: asTenant(apiKey.key) });
    }
    // Until its lease is returned, the window counts all it leased (6 of 60), not the 3 it used.
    await leasesSettled(tenant.id);
    const response = await adminFetch(`/api/tenants/${tenant.id}/rate-limit`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      tenant_id: tenant.id,
      plan: "free",
      limit: 60,
      source: "plan",
      window_seconds: 60,
      used: 3,
      remaining: 57,
    });
    expect(Date.parse(String(body.reset_at))).toBeGreaterThan(Date.now());

    // Reading the window does not count against it.
    const again = (await (await adminFetch(`/api/tenants/${tenant.id}/rate-limit`)).json()) as { used: number };
    expect(again.used).toBe(3);

    await patch(tenant.id, { rate_limit_override: 5 });
    expect(await (await adminFetch(`/api/tenants/${tenant.id}/rate-limit`)).json()).toMatchObject({
      limit: 5,
      source: "override",
      used: 3,
      remaining: 2,
    });
  });
});

describe("GET /api/tenants", () => {
  it("finds tenants by email or org name and pages through them", async () => {
    const marker = crypto.randomUUID().slice(0, 8);
    const created = [];
    for (let i = 0; i < 3; i++) created.push((await newTenant("free")).tenant);
    // Give the three a searchable common name through the management DB record.
    for (const tenant of created) {
      await openMgmtDb().execute(
        {
          sql: "UPDATE tenants SET org_name = ? WHERE id = ?",
          args: [`Search_${marker} ${tenant.id}`, tenant.id],
        },
        "write",
      );
    }

    const first = (await (await adminFetch(`/api/tenants?q=search_${marker}&limit=2`)).json()) as {
      data: { id: string }[];
      has_more: boolean;
      next_cursor: string;
    };
    expect(first.data).toHaveLength(2);
    expect(first.has_more).toBe(true);
    const second = (await (
      await adminFetch(`/api/tenants?q=search_${marker}&limit=2&cursor=${first.next_cursor}`)
    ).json()) as { data: { id: string }[]; has_more: boolean };
    expect(second.data).toHaveLength(1);
    expect(second.has_more).toBe(false);
    expect(new Set([...first.data, ...second.data].map((tenant) => tenant.id))).toEqual(
      new Set(created.map((tenant) => tenant.id)),
    );

    const byEmail = (await (
      await adminFetch(`/api/tenants?q=${encodeURIComponent(created[0]!.ownerEmail.toUpperCase())}`)
    ).json()) as { data: { id: string }[] };
    expect(byEmail.data.map((tenant) => tenant.id)).toEqual([created[0]!.id]);

    // LIKE wildcards in the query are literal: "%" matches only a "%".
    const wildcard = (await (await adminFetch(`/api/tenants?q=${encodeURIComponent(`search%${marker}`)}`)).json()) as {
      data: unknown[];
    };
    expect(wildcard.data).toEqual([]);
    expect((await adminFetch("/api/tenants?cursor=garbage")).status).toBe(400);
  });
});

describe("GET /api/audit-log", () => {
  it("filters by time and pages newest first", async () => {
    const { tenant } = await newTenant("free");
    const since = new Date().toISOString();
    for (const value of [21, 22, 23]) await patch(tenant.id, { rate_limit_override: value });

    const page1 = (await (await adminFetch(`/api/audit-log?tenant_id=${tenant.id}&limit=2`)).json()) as AuditBody;
    expect(page1.data.map((entry) => (entry.after as { rateLimitOverride: number }).rateLimitOverride)).toEqual([
      23, 22,
    ]);
    const page2 = (await (
      await adminFetch(`/api/audit-log?tenant_id=${tenant.id}&limit=2&cursor=${page1.next_cursor}`)
    ).json()) as AuditBody;
    // The third change, then the tenant's creation.
    expect(page2.data.map((entry) => entry.action)).toEqual(["tenant.update", "tenant.create"]);

    const recent = (await (
      await adminFetch(`/api/audit-log?tenant_id=${tenant.id}&since=${encodeURIComponent(since)}`)
    ).json()) as AuditBody;
    expect(recent.data).toHaveLength(3);
    const future = new Date(Date.now() + 60_000).toISOString();
    const none = (await (
      await adminFetch(`/api/audit-log?tenant_id=${tenant.id}&since=${encodeURIComponent(future)}`)
    ).json()) as AuditBody;
    expect(none.data).toEqual([]);
    expect((await adminFetch("/api/audit-log?since=yesterday")).status).toBe(400);
  });
});
