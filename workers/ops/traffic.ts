import { createLogger } from "../../shared/logging";
import { type DayCount, latencyBucket, statusClass } from "../../shared/usage-days";
import { countObjectError } from "./telemetry";

type Count = Omit<DayCount, "day">;

/**
 * Each tenant's requests as this isolate served them (status class and
 * latency bucket) and the tool calls it charged (by tool), summed in memory and reported to the tenant's Durable
 * Object in one call per tenant per `METRICS_FLUSH_MS`, after the response
 * (`waitUntil`). The object adds them to the day's counts the console
 * charts. These are operational figures like the metrics: an isolate that
 * dies loses at most its last interval, and a report is never retried (a
 * retry after a lost acknowledgement could count twice). Quota and the
 * monthly totals are counted exactly in the object itself (or its leases).
 */
const pending = new Map<string, Map<string, number>>();
let flushClaimedUntil = 0;
const CLAIM_MARGIN_MS = 1000;
/** Bounded so a flood of tenants cannot grow one isolate's memory without end. */
const MAX_TENANTS = 10_000;
const logger = createLogger({ component: "traffic" });

function count(tenantId: string, keys: string[]): void {
  let counts = pending.get(tenantId);
  if (!counts) {
    if (pending.size >= MAX_TENANTS) return;
    counts = new Map();
    pending.set(tenantId, counts);
  }
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
}

export function recordTraffic(tenantId: string, status: number, durationMs: number): void {
  count(tenantId, [`status:${statusClass(status)}`, `latency:${latencyBucket(durationMs)}`]);
}

/** A tool call that was charged (by the tenant's object or an admission lease) and runs; `tool` is one of our tools' names. */
export function recordToolCall(tenantId: string, tool: string): void {
  count(tenantId, [`tool:${tool}`]);
}

/** What this isolate has counted for `tenantId` and not reported, handed over (and forgotten here). */
export function takeTraffic(tenantId: string): Count[] {
  const counts = pending.get(tenantId);
  if (!counts) return [];
  pending.delete(tenantId);
  return [...counts].map(([name, count]) => {
    const [metric, key] = name.split(":") as [Count["metric"], string];
    return { metric, key, count };
  });
}

/** Report what is pending, every tenant's. */
async function flushTraffic(env: Env): Promise<void> {
  await Promise.all(
    [...pending.keys()].map(async (tenantId) => {
      const report = takeTraffic(tenantId);
      try {
        await env.TENANT_DO.getByName(tenantId).usageDays(report);
      } catch (error) {
        countObjectError("tenant", "record_traffic");
        logger.warn("traffic report failed", { tenant: tenantId, errorMessage: (error as Error).message });
      }
    }),
  );
}

export function scheduleTrafficFlush(
  env: Env,
  ctx: { waitUntil(promise: Promise<unknown>): void },
  delayMs: number,
): void {
  if (pending.size === 0) return;
  const now = Date.now();
  if (now < flushClaimedUntil) return;
  flushClaimedUntil = now + delayMs + CLAIM_MARGIN_MS;
  ctx.waitUntil(
    (async () => {
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      flushClaimedUntil = 0;
      await flushTraffic(env);
    })(),
  );
}
