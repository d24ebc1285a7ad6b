import { createLogger } from "../../shared/logging";
import { MetricsRecorder } from "../../shared/metrics/recorder";

/**
 * This isolate's metric changes, shipped to the MetricsDO in batches. A flush
 * is scheduled with `waitUntil` after a request and waits `metricsFlushMs`
 * first, so a busy isolate makes about one aggregator call per interval.
 */
export const recorder = new MetricsRecorder();

let scheduled: Promise<void> | null = null;
const logger = createLogger({ component: "telemetry" });

export function metricsStub(env: Env) {
  return env.METRICS_DO.get(env.METRICS_DO.idFromName("global"));
}

/** Ship everything recorded so far; on failure the deltas go back to be sent next time. */
export async function flushMetrics(env: Env): Promise<void> {
  const deltas = recorder.drain();
  if (deltas.length === 0) return;
  try {
    await metricsStub(env).ingest(deltas);
  } catch (error) {
    recorder.restore(deltas);
    logger.warn("metrics flush failed", { errorMessage: (error as Error).message });
  }
}

export function scheduleFlush(env: Env, ctx: { waitUntil(promise: Promise<unknown>): void }, delayMs: number): void {
  if (recorder.pending === 0) return;
  if (!scheduled) {
    scheduled = (async () => {
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      scheduled = null;
      await flushMetrics(env);
    })();
  }
  ctx.waitUntil(scheduled);
}

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
