/**
 * What a month of data costs the usage page. The console benchmark's tenant is
 * new, so over HTTP its charts have one day of bars; a customer's have thirty.
 * This renders the page's own component (`UsagePage`, the charts included) in
 * this process for both, in interleaved rounds, and prints the time per render
 * and the page's size. Node runs the same V8 as workerd, so the milliseconds
 * are close to the Worker's; the ratio is what to read.
 */
import { gzipSync } from "node:zlib";
import { DEFAULT_PLAN_LIMITS } from "../shared/plans";
import { chartsOf, type DayCount, lastDays } from "../shared/usage-days";
import { type MonthSoFar, UsagePage } from "../workers/console/pages/usage";
import { median } from "./admission";

const DAYS = 30;
const TOOLS = ["forget", "get", "issue", "link", "list", "recall", "remember", "session"];
const STATUS_CLASSES = ["2xx", "4xx", "5xx"];
const LATENCY_BUCKETS = ["5", "10", "25", "50", "100", "250", "500", "1000"];
const ROUNDS = 7;
const RENDERS = 200;

/** A busy tenant's counts: every tool, status class and latency bucket on each of `days` days. */
function busyDays(days: string[]): DayCount[] {
  let seed = 7;
  const next = () => {
    seed = (seed * 48271) % 2147483647;
    return seed % 1000;
  };
  return days.flatMap((day) => [
    ...TOOLS.map((key) => ({ day, metric: "tool" as const, key, count: 1 + next() })),
    ...STATUS_CLASSES.map((key) => ({ day, metric: "status" as const, key, count: 1 + next() })),
    ...LATENCY_BUCKETS.map((key) => ({ day, metric: "latency" as const, key, count: next() })),
  ]);
}

const month: MonthSoFar = {
  plan: "pro",
  limits: DEFAULT_PLAN_LIMITS.pro,
  period: "2026-12",
  toolCalls: 48_210,
  toolCallLimit: DEFAULT_PLAN_LIMITS.pro.toolCallsPerMonth,
  resetsAt: "2027-01-01T00:00:00.000Z",
  requests: 61_077,
  rateLimited: 12,
  quotaExceeded: 0,
  rateWindow: { used: 14, limit: DEFAULT_PLAN_LIMITS.pro.requestsPerMinute, windowSeconds: 60 },
  memories: 12_408,
  activeSessions: 2,
};

async function render(rows: DayCount[], days: string[]): Promise<string> {
  const page = UsagePage({
    viewer: { email: "owner@example.com", verified: true, csrf: "x".repeat(43) },
    month,
    charts: chartsOf(rows, days),
    warnAt: 0.8,
  });
  return String(await page.toString());
}

export interface UsageRenderRow {
  name: string;
  msPerRender: number;
  htmlBytes: number;
  gzipBytes: number;
}

export async function benchUsageRender(): Promise<UsageRenderRow[]> {
  const days = lastDays(Date.now(), DAYS);
  const full = busyDays(days);
  const cases = [
    { name: "one day of data (the HTTP benchmark's tenant)", rows: full.filter((row) => row.day === days.at(-1)) },
    { name: `${DAYS} days, ${TOOLS.length} tools (a busy customer)`, rows: full },
  ];
  const times = cases.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [index, entry] of cases.entries()) {
      const started = performance.now();
      for (let i = 0; i < RENDERS; i++) await render(entry.rows, days);
      times[index]?.push((performance.now() - started) / RENDERS);
    }
  }
  return Promise.all(
    cases.map(async (entry, index) => {
      const html = await render(entry.rows, days);
      return {
        name: entry.name,
        msPerRender: median(times[index] ?? []),
        htmlBytes: Buffer.byteLength(html),
        gzipBytes: gzipSync(html).length,
      };
    }),
  );
}

export function formatUsageRender(rows: UsageRenderRow[]): string {
  const base = rows[0]?.msPerRender ?? Number.NaN;
  return [
    `### The usage page's render, in process (median of ${ROUNDS} interleaved rounds of ${RENDERS})`,
    "",
    "| page data | ms / render | vs one day | HTML | gzip |",
    "|---|---:|---:|---:|---:|",
    ...rows.map(
      (row) =>
        `| ${row.name} | ${row.msPerRender.toFixed(3)} | ${(row.msPerRender / base).toFixed(2)}× | ${(row.htmlBytes / 1024).toFixed(1)} KB | ${(row.gzipBytes / 1024).toFixed(1)} KB |`,
    ),
  ].join("\n");
}
