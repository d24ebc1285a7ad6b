import { createLogger } from "../../shared/logging";
import { renderExposition } from "../../shared/metrics/exposition";
import { type MetricDelta, MetricsRecorder } from "../../shared/metrics/recorder";
import { METRICS_SHARDS, mergeSnapshots, shardName } from "../../shared/metrics/shards";

/**
 * This isolate's metric changes, shipped to its metrics shard in batches. A
 * flush is scheduled with `waitUntil` after a request and waits
 * `metricsFlushMs` first, so a busy isolate makes about one aggregator call
 * per interval.
 */
export const recorder = new MetricsRecorder();

/**
 * Until when a flush is already on its way (epoch ms). A number, not the
 * flush's promise: a promise belongs to the request that created it, and a
 * later request that waits on it dies with "Promise will never complete" when
 * the first request's context goes away. Each request that finds no flush on
 * its way schedules its own, in its own `waitUntil`.
 */
let flushClaimedUntil = 0;

/** The aggregator shard this isolate reports to, drawn once when the isolate starts. */
const isolateShard = Math.floor(Math.random() * METRICS_SHARDS);
const logger = createLogger({ component: "telemetry" });

/** Metrics shard `index` (0 ≤ index < `METRICS_SHARDS`). */
export function metricsShard(env: Env, index: number) {
  return env.METRICS_DO.get(env.METRICS_DO.idFromName(shardName(index)));
}

const allShards = (env: Env) => Array.from({ length: METRICS_SHARDS }, (_, index) => metricsShard(env, index));

/**
 * Count a Durable Object call that threw: `durable_object_errors_total{object,operation}`.
 * `object` is the class (`tenant`, `metrics`, `ip_limiter`), never an instance,
 * so the series stay few.
 */
export function countObjectError(object: "tenant" | "metrics" | "ip_limiter", operation: string): void {
  recorder.inc("durable_object_errors_total", { object, operation });
}

/**
 * Ship everything recorded so far; on failure the deltas go back to be sent
 * next time, with the failure counted among them. A shard that stays down
 * also fails every scrape (which reads all shards), so Prometheus sees
 * `up == 0` even while this count cannot reach it.
 */
export async function flushMetrics(env: Env): Promise<void> {
  const deltas = recorder.drain();
  if (deltas.length === 0) return;
  try {
    await metricsShard(env, isolateShard).ingest(deltas);
  } catch (error) {
    recorder.restore(deltas);
    countObjectError("metrics", "ingest");
    logger.warn("metrics flush failed", { errorMessage: (error as Error).message });
  }
}

/**
 * The service's metrics as Prometheus text: `pending` (this isolate's
 * unshipped changes) is shipped first, then every shard is read at once and
 * merged. With `tenant`, only that tenant's series, each in full.
 */
export async function readMetrics(env: Env, pending: MetricDelta[], tenant?: string): Promise<string> {
  if (pending.length > 0) await metricsShard(env, isolateShard).ingest(pending);
  if (tenant) {
    const series = (await Promise.all(allShards(env).map((shard) => shard.tenantSeries(tenant)))).flat();
    const values = mergeSnapshots([{ series, activeSessions: 0 }]);
    // The all-tenant total is not one tenant's figure.
    values.delete("mcp_active_sessions");
    return renderExposition(values);
  }
  return renderExposition(mergeSnapshots(await Promise.all(allShards(env).map((shard) => shard.snapshot()))));
}

/** Active legacy MCP sessions across tenants: the shards' sums added up. */
export async function activeSessions(env: Env): Promise<number> {
  const counts = await Promise.all(allShards(env).map((shard) => shard.activeSessions()));
  return counts.reduce((sum, count) => sum + count, 0);
}

export function scheduleFlush(env: Env, ctx: { waitUntil(promise: Promise<unknown>): void }, delayMs: number): void {
  if (recorder.pending === 0) return;
  const now = Date.now();
  if (now < flushClaimedUntil) return;
  // The claim outlives the delay a little, so a flush whose request was cut short is soon replaced.
  flushClaimedUntil = now + delayMs + CLAIM_MARGIN_MS;
  ctx.waitUntil(
    (async () => {
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      flushClaimedUntil = 0;
      await flushMetrics(env);
    })(),
  );
}

const CLAIM_MARGIN_MS = 1000;

/** MCP methods a client may send; anything else is counted as "other" so a client cannot mint label values. */
const MCP_METHODS = new Set([
  "initialize",
  "ping",
  "server/discover",
  "tools/list",
  "tools/call",
  "resources/list",
  "resources/read",
  "resources/templates/list",
  "resources/subscribe",
  "resources/unsubscribe",
  "prompts/list",
  "prompts/get",
  "logging/setLevel",
  "completion/complete",
  "notifications/initialized",
  "notifications/cancelled",
  "notifications/progress",
  "notifications/roots/list_changed",
]);

/** Count one MCP HTTP request per JSON-RPC method it carried (a batch carries several). */
export function recordMcpRequest(methods: string, status: number): void {
  for (const method of methods.split(",")) {
    if (method) recorder.inc("mcp_requests_total", { method: MCP_METHODS.has(method) ? method : "other", status });
  }
}
