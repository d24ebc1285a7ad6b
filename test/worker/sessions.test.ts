import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { initializeSession, MCP_URL, post, sessionPost, TOOLS_LIST } from "./mcp-support";
import { asTenant, config, newTenant, sessionStats, workerFetch } from "./support";

const tenantObject = (tenantId: string) => env.TENANT_DO.getByName(tenantId);

function deleteMcp(key: string, sessionId?: string) {
  return workerFetch(MCP_URL, {
    method: "DELETE",
    headers: asTenant(key, sessionId ? { "mcp-session-id": sessionId } : {}),
  });
}

/** Move a session's clock back, as if time had passed, without sleeping. */
async function age(tenantId: string, sessionId: string, column: "last_seen_at" | "created_at", byMs: number) {
  await runInDurableObject(tenantObject(tenantId), (_instance, state) => {
    state.storage.sql.exec(`UPDATE mcp_sessions SET ${column} = ${column} - ? WHERE id = ?`, byMs, sessionId);
  });
}

describe("legacy MCP sessions", () => {
  it("initialize issues a visible-ASCII session id that later requests use", async () => {
    const { apiKey } = await newTenant();
    const sessionId = await initializeSession(apiKey.key);
    const initialized = await sessionPost(apiKey.key, sessionId, {
      jsonrpc: "2.0",
      method: "notifications/initialized",
    });
    expect(initialized.status).toBe(202);
    const listed = await sessionPost(apiKey.key, sessionId, TOOLS_LIST);
    expect(listed.status).toBe(200);
    expect(listed.headers.get("mcp-session-id")).toBe(sessionId);
  });

  it("answers an unknown session id with 404 and a JSON-RPC error, so the client re-initializes", async () => {
    const { apiKey } = await newTenant();
    const response = await sessionPost(apiKey.key, "no-such-session", TOOLS_LIST);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ id: 2, error: { code: -32001 } });
  });

  it("answers another tenant's session id with 404", async () => {
    const alice = await newTenant();
    const mallory = await newTenant();
    const sessionId = await initializeSession(alice.apiKey.key);
    expect((await sessionPost(mallory.apiKey.key, sessionId, TOOLS_LIST)).status).toBe(404);
    expect((await sessionPost(alice.apiKey.key, sessionId, TOOLS_LIST)).status).toBe(200);
  });

  it("DELETE with a session id ends it; the id then answers 404", async () => {
    const { apiKey } = await newTenant();
    const sessionId = await initializeSession(apiKey.key);
    const deleted = await deleteMcp(apiKey.key, sessionId);
    expect(deleted.status).toBe(200);
    expect((await sessionPost(apiKey.key, sessionId, TOOLS_LIST)).status).toBe(404);
    expect((await deleteMcp(apiKey.key, sessionId)).status).toBe(404);
  });

  it("DELETE without a session id ends all of the caller's sessions and says how many", async () => {
    const { tenant, apiKey } = await newTenant();
    const other = await newTenant();
    const ids = [await initializeSession(apiKey.key), await initializeSession(apiKey.key)];
    const untouched = await initializeSession(other.apiKey.key);
    const response = await deleteMcp(apiKey.key);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ closed: 2 });
    for (const id of ids) expect((await sessionPost(apiKey.key, id, TOOLS_LIST)).status).toBe(404);
    expect((await sessionPost(other.apiKey.key, untouched, TOOLS_LIST)).status).toBe(200);
    expect(await sessionStats(tenant.id)).toMatchObject({
      active: 0,
      created: 2,
      closed: { delete: 2 },
    });
  });

  it("survives eviction of the Durable Object", async () => {
    const { tenant, apiKey } = await newTenant();
    const sessionId = await initializeSession(apiKey.key);
    await evictDurableObject(tenantObject(tenant.id));
    expect((await sessionPost(apiKey.key, sessionId, TOOLS_LIST)).status).toBe(200);
  });

  it("reaps an idle session with the alarm set to the earliest expiry; a new initialize then works", async () => {
    const { tenant, apiKey } = await newTenant();
    const sessionId = await initializeSession(apiKey.key);
    const alarm = await runInDurableObject(tenantObject(tenant.id), (_instance, state) => state.storage.getAlarm());
    // The usage flush may wake the object sooner; the alarm is never later than the session's expiry.
    expect(alarm).not.toBeNull();
    expect(alarm!).toBeLessThanOrEqual(Date.now() + config.mcp.sessionIdleTimeoutMs);

    await age(tenant.id, sessionId, "last_seen_at", config.mcp.sessionIdleTimeoutMs + 1000);
    expect(await runDurableObjectAlarm(tenantObject(tenant.id))).toBe(true);
    expect(await sessionStats(tenant.id)).toMatchObject({ active: 0, closed: { idle: 1 } });
    expect((await sessionPost(apiKey.key, sessionId, TOOLS_LIST)).status).toBe(404);
    const fresh = await initializeSession(apiKey.key);
    expect((await sessionPost(apiKey.key, fresh, TOOLS_LIST)).status).toBe(200);
  });

  it("ends a session past its max lifetime even while it is in use", async () => {
    const { tenant, apiKey } = await newTenant();
    const sessionId = await initializeSession(apiKey.key);
    await age(tenant.id, sessionId, "created_at", config.mcp.sessionMaxLifetimeMs + 1000);
    expect((await sessionPost(apiKey.key, sessionId, TOOLS_LIST)).status).toBe(404);
    expect(await sessionStats(tenant.id)).toMatchObject({ closed: { lifetime: 1 } });
  });

  it("evicts the least recently used session beyond the plan's cap", async () => {
    const { tenant, apiKey } = await newTenant("free");
    const cap = config.planLimits.free.sessions;
    const ids: string[] = [];
    for (let i = 0; i < cap; i++) ids.push(await initializeSession(apiKey.key));
    // Make the first the most recently seen; the second becomes the least recently used.
    await age(tenant.id, ids[1]!, "last_seen_at", 60_000);
    const newest = await initializeSession(apiKey.key);
    expect((await sessionStats(tenant.id)).active).toBe(cap);
    expect((await sessionPost(apiKey.key, ids[1]!, TOOLS_LIST)).status).toBe(404);
    expect((await sessionPost(apiKey.key, ids[0]!, TOOLS_LIST)).status).toBe(200);
    expect((await sessionPost(apiKey.key, newest, TOOLS_LIST)).status).toBe(200);
    expect(await sessionStats(tenant.id)).toMatchObject({ closed: { cap: 1 } });
  });

  it("stores a logging/setLevel level only when it is one the protocol defines", async () => {
    const { tenant, apiKey } = await newTenant();
    const sessionId = await initializeSession(apiKey.key);
    const setLevel = (level: string) =>
      sessionPost(apiKey.key, sessionId, { jsonrpc: "2.0", id: 5, method: "logging/setLevel", params: { level } });
    const levelHeld = async () => (await tenantObject(tenant.id).listSessions()).sessions[0]?.logLevel;

    const refused = await setLevel("x".repeat(3_000_000));
    expect(await refused.json()).toMatchObject({ error: { code: expect.any(Number) } });
    expect(await levelHeld()).toBeNull();

    expect((await setLevel("warning")).status).toBe(200);
    expect(await levelHeld()).toBe("warning");
    await setLevel("verbose");
    expect(await levelHeld()).toBe("warning");
  });

  it("serves a request without a session id statelessly, creating no session", async () => {
    const { tenant, apiKey } = await newTenant();
    const response = await post(apiKey.key, TOOLS_LIST);
    expect(response.status).toBe(200);
    expect(response.headers.get("mcp-session-id")).toBeNull();
    expect((await sessionStats(tenant.id)).active).toBe(0);
  });
});
