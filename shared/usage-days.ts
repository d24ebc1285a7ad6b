/**
 * Per-day usage of one tenant, as its Durable Object keeps it for the
 * console's charts: tool calls by tool, requests by status class, and a
 * latency histogram. Days are UTC dates (`2026-12-07`). The object holds
 * `USAGE_DAYS_KEPT` days, so a chart is one query over at most a few
 * hundred rows of its own storage (docs/analytics.md, "Where the console's
 * usage numbers come from").
 */
export const USAGE_DAYS_KEPT = 31;

/** What a day's count is of: a tool's calls, requests of a status class, or requests in a latency bucket. */
export type DayMetric = "tool" | "status" | "latency";

/** One count: `key` is the tool's name, the status class (`2xx`), or a latency bucket's upper bound in ms. */
export interface DayCount {
  day: string;
  metric: DayMetric;
  key: string;
  count: number;
}

/**
 * Latency buckets (upper bounds, ms). Percentiles are read off the bucket
 * counts (`percentile`), so a day costs a dozen rows whatever its traffic.
 */
const LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] as const;
const OVERFLOW = "inf";

export function dayOf(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

const DAY_MS = 86_400_000;

/** The `days` UTC dates ending with the one containing `now`, oldest first. */
export function lastDays(now: number, days: number): string[] {
  const today = now - (now % DAY_MS);
  return Array.from({ length: days }, (_, index) => dayOf(today - (days - 1 - index) * DAY_MS));
}

/** The first of `lastDays(now, days)`, without making the others (the object asks on every usage report). */
export function firstOfLastDays(now: number, days: number): string {
  return dayOf(now - (now % DAY_MS) - (Math.max(1, days) - 1) * DAY_MS);
}

export function statusClass(status: number): string {
  return `${Math.min(5, Math.max(1, Math.floor(status / 100)))}xx`;
}

export function latencyBucket(durationMs: number): string {
  const bound = LATENCY_BUCKETS_MS.find((le) => durationMs <= le);
  return bound === undefined ? OVERFLOW : String(bound);
}

/**
 * The `q` quantile (0–1) of a day's latency histogram in ms, interpolated
 * linearly inside its bucket (as Prometheus' `histogram_quantile` does);
 * null when the day has no requests. A quantile in the overflow bucket is
 * reported as the last finite bound: "at least 10 s".
 */
function percentile(buckets: ReadonlyMap<string, number>, q: number): number | null {
  const total = [...buckets.values()].reduce((sum, count) => sum + count, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  let lower = 0;
  for (const upper of LATENCY_BUCKETS_MS) {
    const count = buckets.get(String(upper)) ?? 0;
    if (count > 0 && seen + count >= rank) return Math.round(lower + ((rank - seen) / count) * (upper - lower));
    seen += count;
    lower = upper;
  }
  return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1] ?? null;
}

/** A chart's numbers: one value per day per series, days oldest first. */
export interface DaySeries {
  days: string[];
  series: { name: string; values: number[] }[];
}

export interface UsageCharts {
  toolCalls: DaySeries;
  requests: DaySeries;
  /** Milliseconds; a day without requests is null. */
  latency: { days: string[]; series: { name: string; values: (number | null)[] }[] };
}

const STATUS_CLASSES = ["2xx", "3xx", "4xx", "5xx"];

/** The three charts of `days` (oldest first) from the object's rows. */
export function chartsOf(rows: readonly DayCount[], days: string[]): UsageCharts {
  const index = new Map(days.map((day, position) => [day, position]));
  const counts = (metric: DayMetric, keys: string[]) => {
    const series = keys.map((name) => ({ name, values: days.map(() => 0) }));
    const byKey = new Map(series.map((entry) => [entry.name, entry]));
    for (const row of rows) {
      const position = index.get(row.day);
      const entry = byKey.get(row.key);
      if (row.metric === metric && position !== undefined && entry) {
        entry.values[position] = (entry.values[position] ?? 0) + row.count;
      }
    }
    return series;
  };
  const tools = [...new Set(rows.filter((row) => row.metric === "tool").map((row) => row.key))].sort();
  const classes = [
    ...STATUS_CLASSES,
    ...new Set(rows.filter((r) => r.metric === "status" && !STATUS_CLASSES.includes(r.key)).map((r) => r.key)),
  ];
  const histograms = days.map(() => new Map<string, number>());
  for (const row of rows) {
    const position = index.get(row.day);
    if (row.metric === "latency" && position !== undefined) histograms[position]?.set(row.key, row.count);
  }
  return {
    toolCalls: { days, series: counts("tool", tools) },
    requests: { days, series: counts("status", classes) },
    latency: {
      days,
      series: [
        { name: "p50", values: histograms.map((buckets) => percentile(buckets, 0.5)) },
        { name: "p95", values: histograms.map((buckets) => percentile(buckets, 0.95)) },
      ],
    },
  };
}
