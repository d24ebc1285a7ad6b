import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LEASE_LIFETIME_MS } from "../../durable-objects/tenant/contract";
import { initializeSession, MCP_URL, sessionPost, TOOLS_LIST } from "./mcp-support";
import {
  afterOneLeaseLifetime,
  asTenant,
  config,
  leasesSettled,
  newTenant,
  sessionStats,
  workerFetch,
} from "./support";

/**
 * Legacy sessions served from a lease (docs/rate-limits.md, "Leases"): the
 * isolate running these tests is the Worker's isolate, so its lease cache is
 * the one the requests below use. The clock (`Date`) is moved by hand.
 */

afterEach(() => {
  vi.useRealTimers();
});

const tenantObject = (tenantId: string) => env.TENANT_DO.getByName(tenantId);

/** Requests the object has counted in the window: moves only when a lease is granted, not per request served from it. */
async function windowUsed(tenantId: string): Promise<number> {
  return (await tenantObject(tenantId).rateLimitStatus())?.used ?? Number.NaN;
}

async function lastSeen(tenantId: string, sessionId: string): Promise<number> {
  return runInDurableObject(tenantObject(tenantId), (_instance, state) =>
    Number(state.storage.sql.exec("SELECT last_seen_at FROM mcp_sessions WHERE id = ?", sessionId).one().last_seen_at),
  );
}

function advance(ms: number): void {
  vi.setSystemTime(Date.now() + ms);
}

describe("legacy sessions served from a lease", () => {
  it("serves a session's requests without asking the object; closed elsewhere, it answers 404 within one lease lifetime", async () => {
    const { tenant, apiKey } = await newTenant("pro");
    const sessionId = await initializeSession(apiKey.key);
    vi.useFakeTimers({ toFake: ["Date"] });
    expect((await sessionPost(apiKey.key, sessionId, TOOLS_LIST)).status).toBe(200);
    const used = await windowUsed(tenant.id);
    for (let i = 0; i < 3; i++) {
      const response = await sessionPost(apiKey.key, sessionId, TOOLS_LIST);
      expect(response.status).toBe(200);
      expect(response.headers.get("mcp-session-id")).toBe(sessionId);
    }
    // Served from the lease: no new lease was granted for them.
    expect(await windowUsed(tenant.id)).toBe(used);

    // Closed by another isolate (the admin API's, or a DELETE that reached another colo).
    expect(await tenantObject(tenant.id).closeSession(sessionId)).toBe(true);
    // The bound, not a promise of more: this isolate may serve it until its lease ends…
    expect((await sessionPost(apiKey.key, sessionId, TOOLS_LIST)).status).toBe(200);
    // …and from one lease lifetime after the close, it answers 404.
    afterOneLeaseLifetime();
    const gone = await sessionPost(apiKey.key, sessionId, TOOLS_LIST);
    expect(gone.status).toBe(404);
    expect(await gone.json()).toMatchObject({ error: { code: -32001 } });
  });

  it("a session closed with DELETE /mcp through this isolate answers 404 at once, though its lease is still valid", async () => {
    const { apiKey } = await newTenant("pro");
    const sessionId = await initializeSession(apiKey.key);
    vi.useFakeTimers({ toFake: ["Date"] });
    expect((await sessionPost(apiKey.key, sessionId, TOOLS_LIST)).status).toBe(200);
    const deleted = await workerFetch(MCP_URL, {
      method: "DELETE",
      headers: asTenant(apiKey.key, { "mcp-session-id": sessionId }),
    });
    expect(deleted.status).toBe(200);
    expect((await sessionPost(apiKey.key, sessionId, TOOLS_LIST)).status).toBe(404);
  });

  it("reports a session's use with the lease, so a session in use is not reaped as idle; once idle it is reaped and answers 404", async () => {
    const { tenant, apiKey } = await newTenant("pro");
    const sessionId = await initializeSession(apiKey.key);
    vi.useFakeTimers({ toFake: ["Date"] });
    expect((await sessionPost(apiKey.key, sessionId, TOOLS_LIST)).status).toBe(200);
    // As if the session had last been seen (by the object) almost an idle timeout ago: it expires in 2 s unless touched.
    const idleMs = config.mcp.sessionIdleTimeoutMs;
    await runInDurableObject(tenantObject(tenant.id), (_instance, state) => {
      state.storage.sql.exec(
        "UPDATE mcp_sessions SET last_seen_at = ? WHERE id = ?",
        Date.now() - idleMs + 2000,
        sessionId,
      );
    });

    advance(LEASE_LIFETIME_MS / 2);
    const servedAt = Date.now();
    expect((await sessionPost(apiKey.key, sessionId, TOOLS_LIST)).status).toBe(200);
    // The object heard nothing of that request yet; it hears of it when the lease is returned at its end.
    expect(await lastSeen(tenant.id, sessionId)).toBeLessThan(servedAt);
    advance(LEASE_LIFETIME_MS);
    await leasesSettled(tenant.id);
    expect(await lastSeen(tenant.id, sessionId)).toBe(servedAt);

    // Past the time it would have expired without the report: the alarm leaves it alone, and it is served.
    advance(5000);
    await runDurableObjectAlarm(tenantObject(tenant.id));
    expect(await sessionStats(tenant.id)).toMatchObject({ active: 1 });
    expect((await sessionPost(apiKey.key, sessionId, TOOLS_LIST)).status).toBe(200);

    // Left idle for the timeout, it is reaped, and the next request answers 404.
    advance(idleMs + LEASE_LIFETIME_MS);
    await leasesSettled(tenant.id);
    await runDurableObjectAlarm(tenantObject(tenant.id));
    expect(await sessionStats(tenant.id)).toMatchObject({ active: 0, closed: { idle: 1 } });
    expect((await sessionPost(apiKey.key, sessionId, TOOLS_LIST)).status).toBe(404);
  });
});
