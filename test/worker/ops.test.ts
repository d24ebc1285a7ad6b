import {
  createExecutionContext,
  evictDurableObject,
  runDurableObjectAlarm,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { PERSIST_FLUSHES } from "../../durable-objects/metrics/metrics-do";
import { seriesKey } from "../../shared/metrics/recorder";
import { METRICS_SHARDS, shardName, shardOf, TENANT_SERIES_TOP } from "../../shared/metrics/shards";
import { createApp } from "../../workers/app";
import { type HealthBody, sampleValue, scrape } from "./metrics-support";
import { METRICS_AUTH, workerFetch } from "./support";

describe("/health", () => {
  it("reports every check the runbook reads", async () => {
    const response = await workerFetch(`/health`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as HealthBody;
    expect(body.status).toBe("ok");
    expect(typeof body.version).toBe("string");
    expect(body.checks.managementDb).toBe("ok");
    expect(body.checks.circuitBreakers.managementDb).toMatchObject({ state: "closed", consecutiveFailures: 0 });
    expect(body.checks.circuitBreakers.tenantDb).toMatchObject({ open: 0 });
    expect(body.checks.pool).toMatchObject({ max: 64 });
    expect(body.checks.pool.available).toBeGreaterThan(0);
    expect(body.checks.pool.size).toBeGreaterThanOrEqual(1);
    expect(typeof body.checks.mcpSessions).toBe("number");
    expect(body.latencyMs.managementDb).toBeGreaterThanOrEqual(0);
  });
});

describe("/metrics", () => {
  it("refuses a scrape without a token outside local development, and a wrong token", async () => {
    const anonymous = await workerFetch(`/metrics`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toContain("Bearer");
    const wrong = await workerFetch(`/metrics`, { headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(403);
  });

  it("needs the token where ENVIRONMENT is unset, whatever CF-Connecting-IP the client sends", async () => {
    const { ENVIRONMENT: _omitted, ...unset } = env as Env & { ENVIRONMENT?: string };
    const ctx = createExecutionContext();
    const response = await createApp().request(
      "http://127.0.0.1/metrics",
      { headers: { "cf-connecting-ip": "127.0.0.1" } },
      unset,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(401);
  });

  it("serves Prometheus text with request counters, durations and build info", async () => {
    await workerFetch(`/ready`);
    const text = await scrape();
    expect(text).toContain("# TYPE http_requests_total counter");
    expect(text).toContain("# TYPE http_request_duration_seconds histogram");
    expect(
      sampleValue(text, seriesKey("http_requests_total", { method: "GET", route: "/ready", status: 200 })),
    ).toBeGreaterThan(0);
    expect(text).toMatch(/http_request_duration_seconds_bucket\{le="\+Inf",method="GET",route="\/ready"\} \d+/);
    expect(text).toMatch(/muninn_build_info\{version="[^"]+"\} 1/);
    expect(text).toMatch(/^mcp_active_sessions \d+$/m);
  });

  it("declares every metric operators rely on, even before its first sample", async () => {
    const text = await scrape();
    for (const name of [
      "http_requests_total",
      "http_request_duration_seconds",
      "mcp_requests_total",
      "mcp_active_sessions",
      "mcp_sessions_created_total",
      "mcp_sessions_closed_total",
      "rate_limited_total",
      "quota_exceeded_total",
      "tenant_requests_total",
      "circuit_breaker_state",
      "db_connection_failures_total",
      "circuit_breaker_half_open_total",
      "stripe_webhooks_total",
      "muninn_build_info",
    ]) {
      expect(text).toMatch(new RegExp(`^# TYPE ${name} (counter|gauge|histogram)$`, "m"));
    }
    expect(sampleValue(text, seriesKey("circuit_breaker_state", { target: "managementDb" }))).toBe(0);
  });

  it("counts each request once and labels routes, not raw paths", async () => {
    const series = seriesKey("http_requests_total", { method: "GET", route: "/ready", status: 200 });
    const before = sampleValue(await scrape(), series) ?? 0;
    for (let i = 0; i < 3; i++) await workerFetch(`/ready`);
    expect(sampleValue(await scrape(), series)).toBe(before + 3);
    await workerFetch(`/no/such/path/${crypto.randomUUID()}`);
    expect(await scrape()).not.toContain("/no/such/path");
  });

  it("adds up what every isolate and tenant object reports, across shards", async () => {
    const shard = (index: number) => env.METRICS_DO.get(env.METRICS_DO.idFromName(shardName(index)));
    const series = seriesKey("rate_limited_total", { plan: "free" });
    const before = sampleValue(await scrape(), series) ?? 0;
    // Two other isolates, reporting to different shards, ship their batches.
    await shard(0).ingest([{ op: "add", series, value: 2 }]);
    await shard(METRICS_SHARDS - 1).ingest([{ op: "add", series, value: 5 }]);
    // Two tenants report their live session counts to their own shards; the total is their sum.
    const gauge = (tenant: string, value: number) =>
      shard(shardOf(tenant)).ingest([
        { op: "set", series: seriesKey("mcp_tenant_active_sessions", { tenant }), value },
      ]);
    await gauge("t-metrics-a", 3);
    await gauge("t-metrics-b", 4);
    const sessionsBefore = sampleValue(await scrape(), "mcp_active_sessions") ?? 0;
    await gauge("t-metrics-a", 1);
    const text = await scrape();
    expect(sampleValue(text, series)).toBe(before + 7);
    expect(sampleValue(text, "mcp_active_sessions")).toBe(sessionsBefore - 2);
    const health = (await (await workerFetch(`/health`)).json()) as {
      checks: { mcpSessions: number };
    };
    expect(health.checks.mcpSessions).toBe(sessionsBefore - 2);
  });

  it("applies one flush's repeated and mixed deltas exactly as if one by one", async () => {
    const shard = env.METRICS_DO.get(env.METRICS_DO.idFromName(shardName(3)));
    const counter = seriesKey("rate_limited_total", { plan: `fold-${crypto.randomUUID().slice(0, 8)}` });
    const gauge = seriesKey("circuit_breaker_state", { target: `fold-${crypto.randomUUID().slice(0, 8)}` });
    await shard.ingest([{ op: "add", series: counter, value: 10 }]);
    // A restored batch can carry a series twice; a set then an add moves the set.
    await shard.ingest([
      { op: "add", series: counter, value: 2 },
      { op: "add", series: counter, value: 0.5 },
      { op: "set", series: gauge, value: 1 },
      { op: "add", series: gauge, value: 1 },
      { op: "add", series: counter, value: 3 },
    ]);
    const text = await scrape();
    expect(sampleValue(text, counter)).toBe(15.5);
    expect(sampleValue(text, gauge)).toBe(2);
    await shard.ingest([
      { op: "add", series: gauge, value: 5 },
      { op: "set", series: gauge, value: 0 },
    ]);
    expect(sampleValue(await scrape(), gauge)).toBe(0);
  });

  it("counts every one of many concurrent flushes to one shard exactly once", async () => {
    const shard = env.METRICS_DO.get(env.METRICS_DO.idFromName(shardName(4)));
    const series = seriesKey("rate_limited_total", { plan: `group-${crypto.randomUUID().slice(0, 8)}` });
    // Arriving together, they fold into the shard's memory one by one; the scrape writes the fold before reading.
    await Promise.all(Array.from({ length: 60 }, (_, i) => shard.ingest([{ op: "add", series, value: i + 1 }])));
    expect(sampleValue(await scrape(), series)).toBe((60 * 61) / 2);
  });

  it("writes a shard's acknowledged flushes together on its alarm, where a restart no longer loses them", async () => {
    const stub = env.METRICS_DO.get(env.METRICS_DO.idFromName(`persist-${crypto.randomUUID()}`));
    const counter = seriesKey("rate_limited_total", { plan: "pro" });
    const gauge = seriesKey("mcp_tenant_active_sessions", { tenant: "t-persist" });
    const stored = () =>
      runInDurableObject(stub, (_instance, state) =>
        state.storage.sql
          .exec<{ series: string; value: number }>("SELECT series, value FROM series ORDER BY series")
          .toArray()
          .map((row) => ({ ...row })),
      );
    for (let i = 1; i <= 3; i++) {
      await stub.ingest([
        { op: "add", series: counter, value: i },
        { op: "set", series: gauge, value: i },
      ]);
    }
    // Acknowledged and held in memory, with the write already scheduled.
    expect(await stored()).toEqual([]);
    expect(await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm())).not.toBeNull();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const written = [
      { series: gauge, value: 3 },
      { series: counter, value: 6 },
    ];
    expect(await stored()).toEqual(written);
    await evictDurableObject(stub);
    expect(await stored()).toEqual(written);
    expect(await stub.activeSessions()).toBe(3);
  });

  it("answers reads from storage and the unwritten fold together, as if the fold were written", async () => {
    const stub = env.METRICS_DO.get(env.METRICS_DO.idFromName(`overlay-${crypto.randomUUID()}`));
    const gauge = (tenant: string) => seriesKey("mcp_tenant_active_sessions", { tenant });
    const tenants = Array.from({ length: TENANT_SERIES_TOP + 5 }, (_, i) => `tov${i}`);
    // Written: tenant i holds 100 + i sessions, so the top 20 are tov5…tov24.
    await stub.ingest(tenants.map((tenant, i) => ({ op: "set", series: gauge(tenant), value: 100 + i })));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    // Unwritten: the three largest fall to 1, tov0 climbs to 500, one new tenant appears, a counter grows.
    await stub.ingest([
      ...tenants.slice(-3).map((tenant) => ({ op: "set" as const, series: gauge(tenant), value: 1 })),
      { op: "add", series: gauge("tov0"), value: 400 },
      { op: "set", series: gauge("tovnew"), value: 2 },
      { op: "add", series: seriesKey("rate_limited_total", { plan: "free" }), value: 3 },
    ]);
    const expected = [
      ["tov0", 500],
      ...tenants.slice(4, 22).map((tenant, i) => [tenant, 104 + i] as const),
      ["tov3", 103],
    ].sort((a, b) => Number(b[1]) - Number(a[1]));
    const read = async () => {
      const { series, activeSessions } = await stub.snapshot();
      const top = series
        .filter((row) => row.series.startsWith("mcp_tenant_active_sessions{"))
        .map((row) => [/tenant="([^"]+)"/.exec(row.series)?.[1], row.value]);
      const counter = series.find((row) => row.series.startsWith("rate_limited_total{"))?.value;
      return { top, counter, activeSessions, one: await stub.tenantSeries("tov0") };
    };
    const allSessions = tenants.reduce((sum, _, i) => sum + 100 + i, 0) + 400 - (122 + 123 + 124) + 3 + 2;
    const beforeWrite = await read();
    expect(beforeWrite.top).toEqual(expected);
    expect(beforeWrite.counter).toBe(3);
    expect(beforeWrite.activeSessions).toBe(allSessions);
    expect(beforeWrite.one).toEqual([expect.objectContaining({ series: gauge("tov0"), value: 500 })]);
    // Reading wrote nothing; once the fold is written, every read answers the same.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await read()).toEqual(beforeWrite);
  });

  it("writes at once when a shard holds its maximum of unwritten flushes, without waiting for the alarm", async () => {
    const stub = env.METRICS_DO.get(env.METRICS_DO.idFromName(`persist-${crypto.randomUUID()}`));
    const series = seriesKey("rate_limited_total", { plan: "free" });
    const stored = await runInDurableObject(stub, (instance, state) => {
      const value = () =>
        state.storage.sql.exec<{ value: number }>("SELECT value FROM series WHERE series = ?", series).toArray()[0]
          ?.value;
      for (let i = 0; i < PERSIST_FLUSHES - 1; i++) instance.ingest([{ op: "add", series, value: 1 }]);
      const before = value();
      instance.ingest([{ op: "add", series, value: 1 }]);
      return { before, after: value() };
    });
    expect(stored).toEqual({ before: undefined, after: PERSIST_FLUSHES });
  });

  it("takes a gauge's most recent value when shards disagree", async () => {
    const series = seriesKey("circuit_breaker_state", { target: "tenantDb" });
    await env.METRICS_DO.get(env.METRICS_DO.idFromName(shardName(1))).ingest([{ op: "set", series, value: 2 }]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await env.METRICS_DO.get(env.METRICS_DO.idFromName(shardName(2))).ingest([{ op: "set", series, value: 0 }]);
    expect(sampleValue(await scrape(), series)).toBe(0);
  });

  it("shows only the largest per-tenant series, and every series of one tenant on request", async () => {
    const run = crypto.randomUUID().slice(0, 8);
    const tenants = Array.from({ length: TENANT_SERIES_TOP + 10 }, (_, i) => `tbound${run}${i}`);
    // Far above what real requests in this test file reach, so these are the largest series.
    for (const [i, tenant] of tenants.entries()) {
      await env.METRICS_DO.get(env.METRICS_DO.idFromName(shardName(shardOf(tenant)))).ingest([
        { op: "add", series: seriesKey("tenant_requests_total", { status: 200, tenant }), value: 1_000_000 + i },
      ]);
    }
    const text = await scrape();
    const shown = text.split("\n").filter((line) => line.startsWith("tenant_requests_total{"));
    expect(shown).toHaveLength(TENANT_SERIES_TOP);
    const largest = tenants.slice(-TENANT_SERIES_TOP).map((tenant) => `tenant="${tenant}"`);
    for (const label of largest) expect(shown.some((line) => line.includes(label))).toBe(true);

    const smallest = tenants[0] as string;
    expect(text).not.toContain(`tenant="${smallest}"`);
    const one = await workerFetch(`/metrics?tenant=${smallest}`, { headers: METRICS_AUTH });
    expect(one.status).toBe(200);
    const lines = (await one.text()).split("\n").filter((line) => !line.startsWith("#") && line !== "");
    expect(lines).toEqual([`${seriesKey("tenant_requests_total", { status: 200, tenant: smallest })} 1000000`]);
    expect((await workerFetch("/metrics?tenant=%22x", { headers: METRICS_AUTH })).status).toBe(400);
  });
});

describe("POST /dev/metrics/flush (local stack only)", () => {
  const development = { ...env, ENVIRONMENT: "development" } as unknown as Env;
  async function flush(body: unknown, headers: Record<string, string>, on: Env = development): Promise<Response> {
    const ctx = createExecutionContext();
    const response = await createApp().request(
      "http://127.0.0.1/dev/metrics/flush",
      { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) },
      on,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    return response;
  }
  const tenant = `tflush${crypto.randomUUID().slice(0, 8)}`;
  const series = seriesKey("tenant_requests_total", { status: 200, tenant });
  const shardThree = () => env.METRICS_DO.get(env.METRICS_DO.idFromName(shardName(3)));
  const one = { shard: 3, deltas: [{ op: "add", series, value: 7 }] };
  const valid = { flushes: [one] };

  it("does not exist outside development, even with the metrics token", async () => {
    const { ENVIRONMENT: _omitted, ...unset } = env as Env & { ENVIRONMENT?: string };
    for (const on of [env, unset as Env, { ...env, ENVIRONMENT: "production" } as unknown as Env]) {
      const response = await flush(valid, METRICS_AUTH, on);
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ error: { type: "not_found" } });
    }
    expect(await shardThree().tenantSeries(tenant)).toEqual([]);
  });

  it("needs the metrics token in development too", async () => {
    expect((await flush(valid, {})).status).toBe(401);
    expect((await flush(valid, { authorization: "Bearer nope" })).status).toBe(403);
    expect(await shardThree().tenantSeries(tenant)).toEqual([]);
  });

  it("refuses deltas that are not a flush of declared metrics, and ships nothing", async () => {
    for (const body of [
      { flushes: [] },
      { flushes: [{ ...one, shard: METRICS_SHARDS }] },
      { flushes: [one, { shard: 0, deltas: [] }] },
      { flushes: [{ shard: 0, deltas: [{ op: "add", series: "made_up_total", value: 1 }] }] },
      { flushes: [{ shard: 0, deltas: [{ op: "mul", series, value: 1 }] }] },
      { flushes: [{ shard: 0, deltas: [{ op: "add", series, value: "1" }] }] },
      { flushes: Array.from({ length: 201 }, () => ({ ...one, shard: 0 })) },
      { ...valid, extra: true },
      ...[-1, 1.5, 1001, "10"].map((afterMs) => ({ flushes: [{ ...one, shard: 0, afterMs }] })),
    ]) {
      const response = await flush(body, METRICS_AUTH);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { type: "invalid_request", code: "invalid_parameter" } });
    }
    expect(await scrape()).not.toContain("made_up_total");
    expect(await env.METRICS_DO.get(env.METRICS_DO.idFromName(shardName(0))).tenantSeries(tenant)).toEqual([]);
    expect(await shardThree().tenantSeries(tenant)).toEqual([]);
  });

  it("lands each flush in the shard it names at its own moment, as an isolate's flush does, and times each", async () => {
    const other = seriesKey("tenant_requests_total", { status: 429, tenant });
    const started = Date.now();
    const response = await flush(
      { flushes: [one, { shard: 5, deltas: [{ op: "add", series: other, value: 2 }], afterMs: 200 }, one] },
      METRICS_AUTH,
    );
    expect(response.status).toBe(200);
    // The batch answers once its last flush, 200 ms in, has been applied.
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    const { latencyMs } = (await response.json()) as { latencyMs: number[] };
    expect(latencyMs).toHaveLength(3);
    for (const ms of latencyMs) expect(ms).toBeGreaterThanOrEqual(0);
    const held = await shardThree().tenantSeries(tenant);
    expect(held.map((row) => [row.series, row.value])).toEqual([[series, 14]]);
    const shardFive = await env.METRICS_DO.get(env.METRICS_DO.idFromName(shardName(5))).tenantSeries(tenant);
    expect(shardFive.map((row) => [row.series, row.value])).toEqual([[other, 2]]);
  });
});
