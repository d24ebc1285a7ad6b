import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { PoolExhaustedError } from "../../shared/db/pool";
import { seriesKey } from "../../shared/metrics/recorder";
import { createApp } from "../../workers/app";
import { measuredDatabase } from "../../workers/ops/database-metrics";
import { flushMetrics, recorder } from "../../workers/ops/telemetry";
import { post } from "./mcp-support";
import { asTenant, METRICS_AUTH, newTenant, workerFetch } from "./support";

/** The metrics ops/prometheus/alerts.yml reads that the service did not export before the alerts existed. */

async function scrape(): Promise<string> {
  const response = await workerFetch("/metrics", { headers: METRICS_AUTH });
  expect(response.status).toBe(200);
  return response.text();
}

function sampleValue(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe("metrics the alert rules read", () => {
  it("reports readiness and the management database as gauges on every scrape", async () => {
    const text = await scrape();
    expect(text).toMatch(/^# TYPE muninn_ready gauge$/m);
    expect(text).toMatch(/^# TYPE management_db_up gauge$/m);
    expect(sampleValue(text, "muninn_ready")).toBe(1);
    expect(sampleValue(text, "management_db_up")).toBe(1);
    for (const name of [
      "durable_object_errors_total",
      "tenant_db_connection_failures_total",
      "db_pool_exhausted_total",
      "db_query_duration_seconds",
    ]) {
      expect(text).toMatch(new RegExp(`^# TYPE ${name} (counter|histogram)$`, "m"));
    }
  });

  it("times database calls by target", async () => {
    const { apiKey } = await newTenant();
    const count = seriesKey("db_query_duration_seconds_count", { target: "tenantDb" });
    const before = sampleValue(await scrape(), count);
    const call = { name: "remember", arguments: { content: "timed", kind: "fact" } };
    expect((await post(apiKey.key, { jsonrpc: "2.0", id: 1, method: "tools/call", params: call })).status).toBe(200);
    const text = await scrape();
    expect(sampleValue(text, count)).toBeGreaterThan(before);
    expect(text).toMatch(/^db_query_duration_seconds_bucket\{le="\+Inf",target="managementDb"\} \d+$/m);
  });

  it("counts a call the pool refused, and times it", async () => {
    const exhausted = seriesKey("db_pool_exhausted_total", { target: "tenantDb" });
    const timed = seriesKey("db_query_duration_seconds_count", { target: "tenantDb" });
    const before = await scrape();
    const refusing = measuredDatabase(
      {
        execute: () => Promise.reject(new PoolExhaustedError("no database slot free within 1 ms")),
        batch: () => Promise.reject(new Error("unused")),
      },
      "tenantDb",
    );
    await expect(refusing.execute("SELECT 1", "read")).rejects.toThrow(PoolExhaustedError);
    await flushMetrics(env);
    const after = await scrape();
    expect(sampleValue(after, exhausted)).toBe(sampleValue(before, exhausted) + 1);
    expect(sampleValue(after, timed)).toBeGreaterThanOrEqual(sampleValue(before, timed) + 1);
  });

  it("counts a tenant object that cannot be reached, by object and operation, and refuses the request 503", async () => {
    const { apiKey } = await newTenant();
    const series = seriesKey("durable_object_errors_total", { object: "tenant", operation: "admit" });
    const before = sampleValue(await scrape(), series);
    // The real bindings, except that the tenant's Durable Object throws as an unreachable one does.
    const broken = {
      ...env,
      TENANT_DO: {
        getByName: () => ({
          admit: () => Promise.reject(new Error("Durable Object reset because its code was updated")),
        }),
      },
    } as unknown as Env;
    const ctx = createExecutionContext();
    const response = await createApp().request(
      "http://localhost/api/usage",
      { headers: asTenant(apiKey.key) },
      broken,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(503);
    await flushMetrics(env);
    expect(sampleValue(await scrape(), series)).toBe(before + 1);
  });

  it("counts a metrics shard that refused a flush, and ships the count with the next flush that lands", async () => {
    const series = seriesKey("durable_object_errors_total", { object: "metrics", operation: "ingest" });
    const before = sampleValue(await scrape(), series);
    const refusing = {
      ...env,
      METRICS_DO: {
        idFromName: (name: string) => env.METRICS_DO.idFromName(name),
        get: () => ({ ingest: () => Promise.reject(new Error("Durable Object is overloaded")) }),
      },
    } as unknown as Env;
    // Something to ship (adding 0 changes no figure).
    recorder.inc("mcp_sessions_created_total", {}, 0);
    await flushMetrics(refusing);
    await flushMetrics(env);
    expect(sampleValue(await scrape(), series)).toBe(before + 1);
  });
});
