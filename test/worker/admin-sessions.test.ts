import { afterEach, describe, expect, it, vi } from "vitest";
import { initializeSession, sessionPost, TOOLS_LIST } from "./mcp-support";
import { ADMIN, afterOneLeaseLifetime, asTenant, newTenant, openMgmtDb, workerFetch } from "./support";

afterEach(() => {
  vi.useRealTimers();
});

const sessionsUrl = (tenantId: string, query = "") => `/api/tenants/${tenantId}/sessions${query}`;

interface SessionList {
  tenant_id: string;
  count: number;
  sessions: { id: string; protocol_version: string; client: { name?: string } | null; idle_seconds: number }[];
}

describe("admin: a tenant's MCP sessions", () => {
  it("lists the tenant's sessions with client, protocol version and idle time, and no one else's", async () => {
    const { tenant, apiKey } = await newTenant();
    const other = await newTenant();
    const ids = [await initializeSession(apiKey.key), await initializeSession(apiKey.key)];
    await initializeSession(other.apiKey.key);

    const response = await workerFetch(sessionsUrl(tenant.id), { headers: ADMIN });
    expect(response.status).toBe(200);
    const body = (await response.json()) as SessionList;
    expect(body.tenant_id).toBe(tenant.id);
    expect(body.count).toBe(2);
    expect(body.sessions.map((s) => s.id).sort()).toEqual([...ids].sort());
    for (const session of body.sessions) {
      expect(session.protocol_version).toMatch(/^2025-/);
      expect(session.idle_seconds).toBeGreaterThanOrEqual(0);
    }
  });

  it("force-closes only sessions idle longer than asked, then all of them, and audits it", async () => {
    const { tenant, apiKey } = await newTenant();
    const sessionId = await initializeSession(apiKey.key);

    const none = await workerFetch(sessionsUrl(tenant.id, "?idle_seconds=3600"), { method: "DELETE", headers: ADMIN });
    expect(await none.json()).toEqual({ tenant_id: tenant.id, closed: 0 });
    expect((await sessionPost(apiKey.key, sessionId, TOOLS_LIST)).status).toBe(200);

    const all = await workerFetch(sessionsUrl(tenant.id), { method: "DELETE", headers: ADMIN });
    expect(await all.json()).toEqual({ tenant_id: tenant.id, closed: 1 });
    // An isolate serving the session from its lease answers 404 within one lease lifetime of the close.
    afterOneLeaseLifetime();
    expect((await sessionPost(apiKey.key, sessionId, TOOLS_LIST)).status).toBe(404);

    const audit = await openMgmtDb().execute(
      {
        sql: "SELECT actor, metadata FROM audit_log WHERE tenant_id = ? AND action = 'sessions.close' ORDER BY id",
        args: [tenant.id],
      },
      "read",
    );
    expect(audit.rows.map((row) => JSON.parse(String(row.metadata)).closed)).toEqual([0, 1]);
    expect(audit.rows[0]?.actor).toBe("admin");
  });

  it("refuses bad input and unknown tenants, and anyone without the admin token", async () => {
    const { tenant, apiKey } = await newTenant();
    const bad = await workerFetch(sessionsUrl(tenant.id, "?idle_seconds=-1"), { method: "DELETE", headers: ADMIN });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      error: { type: "invalid_request", message: expect.stringContaining("idle_seconds") },
    });
    expect((await workerFetch(sessionsUrl("tnope"), { headers: ADMIN })).status).toBe(404);
    expect((await workerFetch(sessionsUrl(tenant.id))).status).toBe(401);
    const tenantKey = asTenant(apiKey.key);
    expect((await workerFetch(sessionsUrl(tenant.id), { headers: tenantKey })).status).toBe(403);
    expect((await workerFetch(sessionsUrl(tenant.id), { method: "DELETE", headers: tenantKey })).status).toBe(403);
  });
});
