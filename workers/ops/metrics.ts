import { Hono, type MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { z } from "zod";
import { timingSafeEqual } from "../../shared/crypto/encoding";
import { AppError } from "../../shared/errors";
import { METRICS } from "../../shared/metrics/definitions";
import { seriesKey } from "../../shared/metrics/recorder";
import { METRICS_SHARDS } from "../../shared/metrics/shards";
import { parseJsonBody } from "../api/validation";
import { BREAKER_STATE_VALUE } from "../services";
import type { AppEnv } from "../types";
import { readiness } from "./health";
import { metricsShard, readMetrics, recorder } from "./telemetry";

/**
 * `/metrics`: Prometheus text aggregated across isolates by the sharded
 * MetricsDO, per-tenant metrics cut to their largest series; `?tenant=ID`
 * shows one tenant's series in full. Needs `Authorization: Bearer
 * $METRICS_TOKEN`, except on the local stack (`ENVIRONMENT=development`, set
 * only by `tools/local-secrets.ts`), so the runbook's plain `curl` works
 * there. That exception is decided by configuration, never by a request
 * header: `CF-Connecting-IP` is whatever the client sent under `wrangler
 * dev`, and the local stack listens on 127.0.0.1 only.
 */
export const metrics = new Hono<AppEnv>();

/** `?tenant=ID`: that tenant's series only, in full (tenant ids are short lowercase alphanumerics). */
function tenantQuery(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^[a-z0-9_-]{1,64}$/.test(value)) {
    throw new AppError("invalid_request", "tenant: must be a tenant id", { code: "invalid_parameter" });
  }
  return value;
}

/**
 * `Authorization: Bearer $METRICS_TOKEN` (Hono's `bearerAuth`, constant-time
 * compare). Refusals are thrown as `AppError`s so `app.onError` shapes them:
 * no usable credential is 401, a wrong one 403.
 */
const requireMetricsToken = bearerAuth<AppEnv>({
  verifyToken: (token, c) => timingSafeEqual(token, c.get("services").config.metricsToken),
  noAuthenticationHeader: { message: missingToken },
  invalidAuthenticationHeader: { message: wrongToken },
  invalidToken: { message: wrongToken },
});

function missingToken(): never {
  throw new AppError("unauthorized", "metrics need Authorization: Bearer <METRICS_TOKEN>", {
    headers: { "WWW-Authenticate": 'Bearer realm="metrics"' },
  });
}

function wrongToken(): never {
  throw new AppError("forbidden", "invalid metrics token");
}

/** A scrape without any credential, on the local stack only; a credential sent is always checked. */
const localScrape: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.req.header("authorization") && c.get("services").config.environment === "development") return next();
  return requireMetricsToken(c, next);
};

metrics.get("/metrics", localScrape, async (c) => {
  const { config } = c.get("services");
  // This isolate's unshipped changes ride along, so what it just served is counted.
  const pending = recorder.drain();
  pending.push({ op: "set", series: seriesKey("muninn_build_info", { version: config.version }), value: 1 });
  // The answering isolate's own view of the management DB is the freshest one. Readiness is
  // asked here, by the scrape, so the alert on it needs no traffic and no external prober;
  // the check is the cached one `/ready` uses, so scrapes add no load beyond it.
  const state = BREAKER_STATE_VALUE[c.get("services").mgmtBreaker.state];
  pending.push({ op: "set", series: seriesKey("circuit_breaker_state", { target: "managementDb" }), value: state });
  const ready = await readiness(c.get("services"), c.env, c.get("logger"));
  pending.push({ op: "set", series: "management_db_up", value: ready.managementDb ? 1 : 0 });
  pending.push({ op: "set", series: "muninn_ready", value: ready.ready ? 1 : 0 });
  const text = await readMetrics(c.env, pending, tenantQuery(c.req.query("tenant")));
  return c.text(text, 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
});

/** A series key of a declared metric (a histogram's `_bucket`/`_sum`/`_count` included), labels or none. */
function isDeclaredSeries(series: string): boolean {
  const match = /^([a-z_]+)(\{.*\})?$/.exec(series);
  if (!match) return false;
  const name = match[1] as string;
  const family = name.replace(/_(bucket|sum|count)$/, "");
  return name in METRICS || (family in METRICS && METRICS[family as keyof typeof METRICS].type === "histogram");
}

/** One isolate's flush as `flushMetrics` sends it: its shard and its drained deltas. */
const isolateFlush = z.strictObject({
  shard: z
    .number()
    .int()
    .min(0)
    .max(METRICS_SHARDS - 1),
  deltas: z
    .array(
      z.strictObject({
        op: z.enum(["add", "set"]),
        series: z.string().max(512).refine(isDeclaredSeries, "must be a series of a declared metric"),
        value: z.number().finite(),
      }),
    )
    .min(1)
    .max(200),
  /** When, after the batch arrives, this isolate flushes: its own moment within the interval (at most 1 s later). */
  afterMs: z.number().int().min(0).max(1000).default(0),
});

/** Up to `FLUSHES_PER_REQUEST` isolates' flushes, delivered at once. */
const FLUSHES_PER_REQUEST = 200;
const flushBatch = z.strictObject({ flushes: z.array(isolateFlush).min(1).max(FLUSHES_PER_REQUEST) });

/**
 * `POST /dev/metrics/flush`: deliver the flushes of several simulated
 * isolates, each as its own `ingest` call to the shard it names, exactly as
 * an isolate's `flushMetrics` does, each at its own moment (`afterMs` after
 * the batch arrived, so a batch stands for a stretch of time rather than a
 * burst), and answer how long each call took (`{ "latencyMs": [...] }`, in
 * order). It exists so `npm run bench` can
 * simulate a thousand isolates flushing within one interval: under `wrangler
 * dev` the Durable Objects are reachable only through the Worker, one local
 * process holds one isolate, and a thousand HTTP requests a second would
 * measure the local Worker's HTTP handling (which production spreads over
 * many machines), not the shards. Why it is safe: it exists only where
 * configuration says `ENVIRONMENT=development` (the local stack, listening on
 * 127.0.0.1) and answers the ordinary 404 everywhere else, before looking at
 * any credential, so production, staging and an environment that forgot the
 * variable do not even reveal it; even locally it always needs the metrics
 * token (no loopback exception for a write); and it takes only declared
 * metrics in bounded batches, so it cannot mint series nobody documented.
 */
metrics.post(
  "/dev/metrics/flush",
  async (c, next) => {
    if (c.get("services").config.environment !== "development") {
      throw new AppError("not_found", `no route for ${c.req.method} ${c.req.path}`);
    }
    return next();
  },
  requireMetricsToken,
  async (c) => {
    const { flushes } = await parseJsonBody(c, flushBatch);
    const latencyMs = await Promise.all(
      flushes.map(async ({ shard, deltas, afterMs }) => {
        if (afterMs > 0) await new Promise((resolve) => setTimeout(resolve, afterMs));
        const started = performance.now();
        await metricsShard(c.env, shard).ingest(deltas);
        return performance.now() - started;
      }),
    );
    return c.json({ latencyMs });
  },
);
