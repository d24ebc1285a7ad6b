/**
 * The sharded metrics aggregator under many isolates: N simulated isolates
 * (10, 100, 1,000), each serving three tenants of its own, each ship one
 * flush per flush interval to a shard drawn at random, as
 * `workers/ops/telemetry.ts` does, while `/metrics` is scraped. Flush and
 * scrape latencies are compared with the smallest row of the same run.
 *
 * "At once": all N isolates flush within the same one-second interval, each
 * at its own moment of it (an isolate's flush follows its own traffic), so
 * the shards take N flushes a second, which is the load the design is sized
 * for. The moments are grouped into twenty 50 ms slots; each slot's flushes
 * go in one request to the local stack's `POST /dev/metrics/flush`
 * (development only), which starts every flush at its own moment (`afterMs`
 * into the slot) as its own `ingest` call and times each one in the Worker:
 * the flush latency an isolate sees. (Until 2026-11-29 a slot's flushes all
 * started together: a burst of a hundred simultaneous calls at 1,000
 * isolates, where each queued behind the others on the one local thread, so
 * the p50 measured half a burst's work, not the design.)
 * One HTTP request per flush would measure the one local Worker process
 * parsing a thousand requests a second, which production spreads over many
 * machines. Per-tenant series grow with the isolates (3,000 tenants at the
 * last row), so the top-N bound of `/metrics` is exercised, and state
 * accumulates from row to row, so the largest row also reads the largest
 * shards. After each row the run checks that `/metrics` kept its bound and
 * that a sampled tenant's series hold every request shipped for it.
 */
import { MetricsRecorder } from "../shared/metrics/recorder";
import { METRICS_SHARDS, TENANT_SERIES_TOP } from "../shared/metrics/shards";
import { percentile } from "./admission";

export interface MetricsBenchTarget {
  baseUrl: string;
  metricsToken: string;
}

export interface MetricsBenchRow {
  isolates: number;
  tenants: number;
  flushes: number;
  flushP50Ms: number;
  flushP95Ms: number;
  scrapes: number;
  scrapeP50Ms: number;
  scrapeP95Ms: number;
}

const ISOLATES = [10, 100, 1000];
/** The default `METRICS_FLUSH_MS`: a busy isolate ships once per interval. */
const INTERVAL_MS = 1000;
const ROUNDS = 5;
/** An interval's flush moments, grouped: one request per slot. 1,000 isolates make about 50 flushes a slot (≤ 200 a request). */
const SLOTS = 20;
const TENANTS_PER_ISOLATE = 3;
/** One scrape after another, this far apart: a tight Prometheus scraping far more often than the usual 15 s. */
const SCRAPE_GAP_MS = 200;
const WARMUP = 20;

interface Isolate {
  shard: number;
  tenants: string[];
}

/** What a busy isolate has recorded in one interval: a few routes, their durations, MCP calls, and its tenants' requests. */
function flushOf(isolate: Isolate, round: number, afterMs = 0) {
  const recorder = new MetricsRecorder();
  for (const [i, tenant] of isolate.tenants.entries()) {
    const requests = 2 + i + round;
    recorder.inc("http_requests_total", { method: "POST", route: "/mcp", status: 200 }, requests);
    recorder.observe("http_request_duration_seconds", { method: "POST", route: "/mcp" }, 0.004 * (i + 1));
    recorder.inc("mcp_requests_total", { method: "tools/call", status: 200 }, requests);
    recorder.inc("tenant_requests_total", { status: 200, tenant }, requests);
  }
  recorder.inc("http_requests_total", { method: "GET", route: "/health", status: 200 });
  recorder.observe("http_request_duration_seconds", { method: "GET", route: "/health" }, 0.002);
  return { shard: isolate.shard, deltas: recorder.drain(), afterMs };
}

/** The requests one tenant of isolate `i` was credited with over all rounds (see `flushOf`). */
function expectedTenantRequests(tenantIndex: number): number {
  let total = 0;
  for (let round = 0; round < ROUNDS; round++) total += 2 + tenantIndex + round;
  return total;
}

export async function benchMetrics(target: MetricsBenchTarget): Promise<MetricsBenchRow[]> {
  const auth = { authorization: `Bearer ${target.metricsToken}` };
  const flush = async (flushes: ReturnType<typeof flushOf>[]): Promise<number[]> => {
    const response = await fetch(`${target.baseUrl}/dev/metrics/flush`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ flushes }),
    });
    if (response.status !== 200)
      throw new Error(`flush: expected 200, got ${response.status}: ${await response.text()}`);
    return ((await response.json()) as { latencyMs: number[] }).latencyMs;
  };
  const scrape = async (query = ""): Promise<{ ms: number; text: string }> => {
    const t0 = performance.now();
    const response = await fetch(`${target.baseUrl}/metrics${query}`, { headers: auth });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`/metrics: expected 200, got ${response.status}`);
    return { ms: performance.now() - t0, text };
  };

  const run = crypto.randomUUID().slice(0, 8);
  const warm: Isolate = { shard: 0, tenants: [`bmwarm${run}`] };
  for (let i = 0; i < WARMUP; i++) {
    await flush([{ ...flushOf(warm, 0), shard: i % METRICS_SHARDS }]);
    await scrape();
  }

  const rows: MetricsBenchRow[] = [];
  for (const count of ISOLATES) {
    const isolates: Isolate[] = Array.from({ length: count }, (_, i) => ({
      shard: Math.floor(Math.random() * METRICS_SHARDS),
      tenants: Array.from({ length: TENANTS_PER_ISOLATE }, (_, t) => `bm${run}n${count}i${i}t${t}`),
    }));
    const flushMs: number[] = [];
    const scrapeMs: number[] = [];
    let flushing = true;
    const scraper = (async () => {
      while (flushing) {
        scrapeMs.push((await scrape()).ms);
        await sleep(SCRAPE_GAP_MS);
      }
    })();
    for (let round = 0; round < ROUNDS; round++) {
      // Each isolate flushes once in this interval, at its own moment, sent with the slot that moment falls in.
      const slotMs = INTERVAL_MS / SLOTS;
      const slots: { isolate: Isolate; afterMs: number }[][] = Array.from({ length: SLOTS }, () => []);
      for (const isolate of isolates) {
        const moment = Math.random() * INTERVAL_MS;
        const slot = Math.floor(moment / slotMs);
        slots[slot]?.push({ isolate, afterMs: Math.floor(moment - slot * slotMs) });
      }
      await Promise.all(
        slots.map(async (slot, index) => {
          await sleep(index * slotMs);
          if (slot.length === 0) return;
          flushMs.push(...(await flush(slot.map(({ isolate, afterMs }) => flushOf(isolate, round, afterMs)))));
        }),
      );
      await sleep(INTERVAL_MS / SLOTS);
    }
    flushing = false;
    await scraper;
    await checkNothingLost(scrape, isolates);
    flushMs.sort((a, b) => a - b);
    scrapeMs.sort((a, b) => a - b);
    rows.push({
      isolates: count,
      tenants: count * TENANTS_PER_ISOLATE,
      flushes: flushMs.length,
      flushP50Ms: round2(percentile(flushMs, 50)),
      flushP95Ms: round2(percentile(flushMs, 95)),
      scrapes: scrapeMs.length,
      scrapeP50Ms: round2(percentile(scrapeMs, 50)),
      scrapeP95Ms: round2(percentile(scrapeMs, 95)),
    });
  }
  return rows;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A benchmark of a wrong answer is worthless: the global exposition keeps its
 * per-tenant bound, and a sampled tenant's full series holds every request
 * its isolate shipped.
 */
async function checkNothingLost(
  scrape: (query?: string) => Promise<{ text: string }>,
  isolates: Isolate[],
): Promise<void> {
  const { text } = await scrape();
  const shown = text.split("\n").filter((line) => line.startsWith("tenant_requests_total{")).length;
  if (shown > TENANT_SERIES_TOP) throw new Error(`/metrics shows ${shown} tenant_requests_total series`);
  const isolate = isolates[Math.floor(Math.random() * isolates.length)] as Isolate;
  for (const [index, tenant] of isolate.tenants.entries()) {
    const one = (await scrape(`?tenant=${tenant}`)).text;
    const line = one.split("\n").find((l) => l.startsWith("tenant_requests_total{"));
    const value = Number(line?.split(" ").at(-1));
    if (value !== expectedTenantRequests(index)) {
      throw new Error(
        `tenant ${tenant}: /metrics?tenant= shows ${value}, ${expectedTenantRequests(index)} were shipped`,
      );
    }
  }
}

function round2(value: number): number {
  return Number(value.toFixed(2));
}

/** The table, each latency also as a ratio to the smallest row's, and the goal line. */
export function formatMetricsTable(rows: MetricsBenchRow[]): string {
  const base = rows[0] as MetricsBenchRow;
  const ratio = (value: number, baseline: number) => `${(value / baseline).toFixed(2)}×`;
  const lines = rows.map(
    (row) =>
      `| ${row.isolates.toLocaleString("en-US")} | ${row.tenants.toLocaleString("en-US")} | ${row.flushes} | ${row.flushP50Ms} (${ratio(row.flushP50Ms, base.flushP50Ms)}) | ${row.flushP95Ms} (${ratio(row.flushP95Ms, base.flushP95Ms)}) | ${row.scrapes} | ${row.scrapeP50Ms} (${ratio(row.scrapeP50Ms, base.scrapeP50Ms)}) | ${row.scrapeP95Ms} (${ratio(row.scrapeP95Ms, base.scrapeP95Ms)}) |`,
  );
  return [
    `### Metrics aggregator (${METRICS_SHARDS} shards, each isolate flushing once a second, ${ROUNDS} s per row)`,
    "",
    "| isolates | tenants | flushes | flush p50 ms | flush p95 ms | scrapes | /metrics p50 ms | /metrics p95 ms |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...lines,
  ].join("\n");
}

/** Flat: at 1,000 isolates, flush and `/metrics` p50 within `FLAT_RATIO` of 10 isolates'. */
const FLAT_RATIO = 2;

export function metricsGoals(rows: MetricsBenchRow[]): { table: string; ok: boolean } {
  const first = rows[0] as MetricsBenchRow;
  const last = rows.at(-1) as MetricsBenchRow;
  const flush = last.flushP50Ms / first.flushP50Ms;
  const scrape = last.scrapeP50Ms / first.scrapeP50Ms;
  const mark = (ok: boolean) => (ok ? "met" : "MISSED");
  const span = `${first.isolates} → ${last.isolates.toLocaleString("en-US")} isolates`;
  return {
    ok: flush <= FLAT_RATIO && scrape <= FLAT_RATIO,
    table: [
      "### Goals",
      "",
      "| goal | this run | |",
      "|---|---:|---|",
      `| metrics flush p50 flat: ≤ ${FLAT_RATIO}× from ${span} | ${flush.toFixed(2)}× | ${mark(flush <= FLAT_RATIO)} |`,
      `| /metrics p50 flat: ≤ ${FLAT_RATIO}× from ${span} | ${scrape.toFixed(2)}× | ${mark(scrape <= FLAT_RATIO)} |`,
    ].join("\n"),
  };
}
