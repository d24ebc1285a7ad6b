import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { seriesKey } from "../../shared/metrics/recorder";
import { createApp } from "../../workers/app";
import { type HealthBody, sampleValue, scrape } from "./metrics-support";
import { asTenant, logsOf, newTenant, workerFetch } from "./support";

/** What each request leaves for operators: its log line, its MCP and pool metrics, its Analytics Engine data point. */
describe("request logs", () => {
  it("cut client-supplied tool and method names, however long", async () => {
    const { apiKey } = await newTenant();
    const huge = "x".repeat(2 * 1024 * 1024);
    const logs = await logsOf(async () => {
      for (const body of [
        { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: huge, arguments: {} } },
        { jsonrpc: "2.0", id: 2, method: huge, params: {} },
      ]) {
        const response = await workerFetch("/mcp", {
          method: "POST",
          headers: { authorization: `Bearer ${apiKey.key}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        await response.arrayBuffer();
      }
    });
    const requests = logs.filter((line) => line.message === "request" && line.route === "/mcp");
    expect(requests).toHaveLength(2);
    expect(String(requests[0]?.tool)).toHaveLength(96);
    expect(String(requests[1]?.mcpMethod)).toHaveLength(256);
    for (const line of logs) expect(JSON.stringify(line).length).toBeLessThan(4096);
  });
});

describe("MCP request metrics", () => {
  it("counts MCP requests by JSON-RPC method and status, folding unknown methods into other", async () => {
    const { apiKey } = await newTenant();
    const mcp = (body: unknown) =>
      workerFetch("/mcp", {
        method: "POST",
        headers: asTenant(apiKey.key, { "content-type": "application/json" }),
        body: JSON.stringify(body),
      });
    const listSeries = seriesKey("mcp_requests_total", { method: "tools/list", status: 200 });
    const before = sampleValue(await scrape(), listSeries) ?? 0;
    expect((await mcp({ jsonrpc: "2.0", id: 1, method: "tools/list" })).status).toBe(200);
    await mcp({ jsonrpc: "2.0", id: 2, method: `made/up/${crypto.randomUUID()}` });
    const text = await scrape();
    expect(sampleValue(text, listSeries)).toBe(before + 1);
    expect(text).toMatch(/^mcp_requests_total\{method="other",status="\d+"\} \d+$/m);
    expect(text).not.toContain("made/up");
  });
});

describe("database pool", () => {
  it("serves a cold-cache stampede beyond the pool size by queueing, not failing", async () => {
    const { apiKey } = await newTenant("team");
    // 200 requests at once, none cached: well over DB_POOL_MAX (64) management-DB calls in flight.
    const responses = await Promise.all(
      Array.from({ length: 200 }, () => workerFetch(`/api/me`, { headers: asTenant(apiKey.key) })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(200).fill(200));
    const health = (await (await workerFetch(`/health`)).json()) as HealthBody;
    expect(health.checks.pool.available).toBe(health.checks.pool.max);
  });
});

describe("Analytics Engine", () => {
  it("writes one data point per request with tenant, route, method, tool, status and duration", async () => {
    const { tenant, apiKey } = await newTenant();
    const points: AnalyticsEngineDataPoint[] = [];
    // Analytics Engine is Cloudflare's service, not ours: record what the Worker hands it.
    const analytics = { writeDataPoint: (point: AnalyticsEngineDataPoint) => points.push(point) };
    const app = createApp();
    const ctx = createExecutionContext();
    const response = await app.request(
      "http://localhost/mcp",
      {
        method: "POST",
        headers: asTenant(apiKey.key, { "content-type": "application/json" }),
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "tools/call",
          params: { name: "remember", arguments: { content: "analytics check" } },
        }),
      },
      { ...env, ANALYTICS: analytics },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(200);
    expect(points).toHaveLength(1);
    const [point] = points;
    expect(point?.indexes).toEqual([tenant.id]);
    expect(point?.blobs).toEqual([tenant.id, "/mcp", "POST", "remember", "200", "tools/call"]);
    expect(point?.doubles?.[0]).toBe(200);
    expect(point?.doubles?.[1]).toBeGreaterThan(0);
  });
});
