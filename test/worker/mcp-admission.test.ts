import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { INITIALIZE, initializeSession, post, sessionPost, TOOLS_LIST } from "./mcp-support";
import { ADMIN, afterOneLeaseLifetime, leasesSettled, newTenant, sessionStats, workerFetch } from "./support";

afterEach(() => {
  vi.useRealTimers();
});

/** Requests counted in the tenant's usage once every lease is settled: exact, whatever leases were granted. */
async function settledRequests(tenantId: string): Promise<number> {
  afterOneLeaseLifetime();
  await leasesSettled(tenantId);
  return (await env.TENANT_DO.getByName(tenantId).usageStatus())?.usage.requests ?? Number.NaN;
}

function expectRateLimitHeaders(response: Response, limit: number) {
  expect(response.headers.get("x-ratelimit-limit")).toBe(String(limit));
  expect(Number(response.headers.get("x-ratelimit-remaining"))).toBeGreaterThanOrEqual(0);
  expect(response.headers.get("ratelimit-policy")).toBe(`"tenant";q=${limit};w=60`);
  expect(response.headers.get("ratelimit")).toMatch(/^"tenant";r=\d+;t=\d+$/);
}

describe("/mcp admission as clients see it", () => {
  it("puts the rate-limit headers on answers in both eras and in a session", async () => {
    const { apiKey } = await newTenant();
    const stateless = await post(apiKey.key, TOOLS_LIST);
    expect(stateless.status).toBe(200);
    expectRateLimitHeaders(stateless, 60);

    const sessionId = await initializeSession(apiKey.key);
    const inSession = await sessionPost(apiKey.key, sessionId, TOOLS_LIST);
    expect(inSession.status).toBe(200);
    expect(inSession.headers.get("mcp-session-id")).toBe(sessionId);
    expectRateLimitHeaders(inSession, 60);

    const modern = await post(
      apiKey.key,
      {
        jsonrpc: "2.0",
        id: 3,
        method: "tools/list",
        params: {
          _meta: {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": { name: "headers-test", version: "1" },
            "io.modelcontextprotocol/clientCapabilities": {},
          },
        },
      },
      { "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/list" },
    );
    expect(modern.status).toBe(200);
    expectRateLimitHeaders(modern, 60);
  });

  it("refuses with 429, Retry-After and the exhausted window in the headers", async () => {
    const { tenant, apiKey } = await newTenant();
    const patched = await workerFetch(`/api/tenants/${tenant.id}`, {
      method: "PATCH",
      headers: ADMIN,
      body: JSON.stringify({ rate_limit_override: 1 }),
    });
    expect(patched.status).toBe(200);
    expect((await post(apiKey.key, TOOLS_LIST)).status).toBe(200);
    const refused = await post(apiKey.key, TOOLS_LIST);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(refused.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(await refused.json()).toMatchObject({ error: { message: expect.stringContaining("Rate limit exceeded") } });
  });

  it("refuses tool calls inside a JSON-RPC batch instead of running them unmetered", async () => {
    const { tenant, apiKey } = await newTenant();
    const call = (id: number) => ({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name: "remember", arguments: { content: `batched ${id}` } },
    });
    const response = await post(apiKey.key, [call(1), call(2), call(3)]);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: -32600, message: expect.stringContaining("batch") } });
    const usage = await env.TENANT_DO.getByName(tenant.id).usageStatus();
    expect(usage?.usage.toolCalls ?? 0).toBe(0);
  });

  it("refuses a batch of resource reads or prompts, and serves a batch of pings and notifications", async () => {
    const { tenant, apiKey } = await newTenant();
    const sessionId = await initializeSession(apiKey.key);
    const reads = Array.from({ length: 100 }, (_, id) => ({
      jsonrpc: "2.0",
      id,
      method: id % 2 ? "resources/read" : "prompts/get",
      params: id % 2 ? { uri: "muninn://projects/default/briefing" } : { name: "start-session" },
    }));
    const refused = await sessionPost(apiKey.key, sessionId, reads);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({
      error: { code: -32600, message: expect.stringContaining("only ping and notifications") },
    });

    const before = await settledRequests(tenant.id);
    const pings = await sessionPost(apiKey.key, sessionId, [
      { jsonrpc: "2.0", id: 1, method: "ping" },
      { jsonrpc: "2.0", method: "notifications/initialized" },
      { jsonrpc: "2.0", id: 2, method: "ping" },
    ]);
    expect(pings.status).toBe(200);
    expect(await pings.json()).toEqual([
      { jsonrpc: "2.0", id: 1, result: {} },
      { jsonrpc: "2.0", id: 2, result: {} },
    ]);
    // The batch is one request: one unit of the rate limit, counted once.
    expect(await settledRequests(tenant.id)).toBe(before + 1);
  });

  it("refuses subscriptions/listen clearly instead of holding a stream open", async () => {
    const { apiKey } = await newTenant();
    const response = await post(
      apiKey.key,
      {
        jsonrpc: "2.0",
        id: 9,
        method: "subscriptions/listen",
        params: {
          _meta: {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": { name: "listen-test", version: "1" },
            "io.modelcontextprotocol/clientCapabilities": {},
          },
        },
      },
      { "mcp-protocol-version": "2026-07-28", "mcp-method": "subscriptions/listen" },
    );
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toContain("application/json");
    expect(await response.json()).toMatchObject({
      id: 9,
      error: { code: -32601, message: expect.stringContaining("subscriptions/listen is not offered") },
    });
  });

  it("does not keep a session for an initialize the protocol layer refuses", async () => {
    const { tenant, apiKey } = await newTenant();
    // Accept without text/event-stream: the SDK answers 406 after admission created the session.
    const refused = await post(apiKey.key, INITIALIZE, { accept: "application/json" });
    expect(refused.status).toBe(406);
    expect(refused.headers.get("mcp-session-id")).toBeNull();
    const stats = await sessionStats(tenant.id);
    expect(stats).toMatchObject({ active: 0, closed: { rejected: 1 } });
  });
});
