/**
 * What admission costs: a request that is authenticated and admitted by the
 * tenant's Durable Object (`GET /api/me`: credential served from the
 * isolate's cache, then one `admit` RPC) against the no-op baseline (a
 * request through the same middleware that does no I/O: an unmatched path
 * answered with the JSON 404). Run against the local stack (`wrangler dev`,
 * Durable Objects in workerd), so absolute figures are a laptop's; the ratio
 * is the figure to watch.
 */
import { readConfig } from "../shared/config";
import { openDatabase } from "../shared/db/client";
import { createTenant } from "../shared/tenants/tenants";

export interface BenchTarget {
  baseUrl: string;
  adminToken: string;
  /** Worker variables of the stack, to provision a tenant of the benchmark's own. */
  vars: Record<string, string>;
}

export interface BenchRow {
  name: string;
  requests: number;
  concurrency: number;
  requestsPerSecond: number;
  p50Ms: number;
  p95Ms: number;
  /** Median over the rounds of this case's p50 over the baseline's p50 in the same round. */
  ratio: number;
  /** The lowest and highest of those per-round ratios: how far one round can land from the median. */
  ratioRange: [number, number];
  /** This case's p50 in each round, for ratios between cases (round by round, like `ratio`). */
  roundP50s: number[];
}

export interface BenchCase {
  name: string;
  send: () => Promise<Response>;
  expectStatus: number;
  /** Requests over all rounds; fewer for cases that write a lot per request (a batch of 50 memories). */
  requests?: number;
  concurrency?: number;
  /** Requests sent before the first round's block, not counted. */
  warmup?: number;
}

const DEFAULT_REQUESTS = 2000;
const DEFAULT_CONCURRENCY = 8;
const DEFAULT_WARMUP = 100;
const ROUNDS = 5;

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** The middle value (the upper of the two middle ones for an even count). */
export function median(values: number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

/** `requests` requests at `concurrency`: each one's latency (ms) and the block's wall time (s). */
async function block(
  name: string,
  send: () => Promise<Response>,
  expectStatus: number,
  requests: number,
  concurrency: number,
): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < requests) {
      next += 1;
      const t0 = performance.now();
      const response = await send();
      await response.arrayBuffer();
      latencies.push(performance.now() - t0);
      if (response.status !== expectStatus)
        throw new Error(`${name}: expected ${expectStatus}, got ${response.status}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { latencies, seconds: (performance.now() - started) / 1000 };
}

/**
 * Measure every case against the first (the baseline) in interleaved rounds:
 * each round runs a block of every case, in an order rotated from round to
 * round, and a case's ratio is the median over rounds of its p50 over the
 * baseline's p50 in the same round. On a shared machine the speed drifts by
 * tens of percent over minutes; cases measured one after another (as this
 * bench did before) put that drift into their ratios, while blocks a few
 * seconds apart see nearly the same machine. p50, p95 and req/s pool every
 * round.
 */
export async function measureRounds(cases: BenchCase[]): Promise<BenchRow[]> {
  const results = cases.map(() => ({ latencies: [] as number[], seconds: 0, roundP50s: [] as number[] }));
  for (const item of cases) {
    for (let w = 0; w < (item.warmup ?? DEFAULT_WARMUP); w++) await (await item.send()).arrayBuffer();
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < cases.length; k++) {
      const index = (k + round) % cases.length;
      const item = cases[index] as BenchCase;
      const total = item.requests ?? DEFAULT_REQUESTS;
      const count = Math.ceil(total / ROUNDS);
      const measured = await block(
        item.name,
        item.send,
        item.expectStatus,
        count,
        item.concurrency ?? DEFAULT_CONCURRENCY,
      );
      const result = results[index] as (typeof results)[number];
      result.latencies.push(...measured.latencies);
      result.seconds += measured.seconds;
      result.roundP50s.push(median(measured.latencies));
    }
  }
  const baseline = results[0]?.roundP50s ?? [];
  return cases.map((item, index) => {
    const { latencies, seconds, roundP50s } = results[index] as (typeof results)[number];
    latencies.sort((a, b) => a - b);
    return {
      name: item.name,
      requests: latencies.length,
      concurrency: item.concurrency ?? DEFAULT_CONCURRENCY,
      requestsPerSecond: Math.round(latencies.length / seconds),
      p50Ms: Number(percentile(latencies, 50).toFixed(2)),
      p95Ms: Number(percentile(latencies, 95).toFixed(2)),
      ratio: Number(roundRatio(roundP50s, baseline).toFixed(2)),
      ratioRange: ratioRange(roundP50s, baseline),
      roundP50s,
    };
  });
}

/** `a`'s p50 over `b`'s p50, round by round. */
function roundRatios(a: number[], b: number[]): number[] {
  return a.map((value, round) => value / (b[round] ?? Number.NaN));
}

/** Median over rounds of `a`'s p50 over `b`'s p50 in the same round. */
export function roundRatio(a: number[], b: number[]): number {
  return median(roundRatios(a, b));
}

/** The lowest and highest per-round ratio of `a` over `b`, to two decimals. */
export function ratioRange(a: number[], b: number[]): [number, number] {
  const ratios = roundRatios(a, b);
  return [Number(Math.min(...ratios).toFixed(2)), Number(Math.max(...ratios).toFixed(2))];
}

/** A tenant of the benchmark's own, with a limit high enough that nothing it sends is refused. */
export async function benchTenant(target: BenchTarget): Promise<{ id: string; key: string }> {
  const config = readConfig(target.vars);
  const created = await createTenant(openDatabase(config.mgmtDb, config.dbTimeoutMs), config, {
    orgName: "Admission benchmark",
    ownerEmail: "bench@muninn.local",
    plan: "team",
    firstKeyName: "bench",
    actor: "bench",
  });
  if (!created.apiKey) throw new Error("benchmark tenant was created without a key");
  await raiseLimit(target, created.tenant.id);
  return { id: created.tenant.id, key: created.apiKey.key };
}

/** A rate limit (through the admin API's override) high enough that nothing a benchmark sends is refused. */
export async function raiseLimit(target: BenchTarget, tenantId: string): Promise<void> {
  const response = await fetch(`${target.baseUrl}/api/tenants/${tenantId}`, {
    method: "PATCH",
    headers: { authorization: `Bearer ${target.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ rate_limit_override: 100_000 }),
  });
  if (!response.ok) throw new Error(`could not raise the benchmark tenant's limit: ${response.status}`);
}

/** The baseline every table is measured against: an unmatched path, answered with the JSON 404. */
export function noopCase(target: BenchTarget): BenchCase {
  return { name: "no-op request (baseline)", send: () => fetch(`${target.baseUrl}/bench/no-op`), expectStatus: 404 };
}

/** `GET /api/me` with a tenant's key: authenticated from the isolate's cache, admitted, a small answer. */
export function admittedCase(target: BenchTarget, key: string, name: string): BenchCase {
  return {
    name,
    send: () => fetch(`${target.baseUrl}/api/me`, { headers: { authorization: `Bearer ${key}` } }),
    expectStatus: 200,
  };
}

export async function benchAdmission(target: BenchTarget): Promise<BenchRow[]> {
  const tenant = await benchTenant(target);
  return measureRounds([noopCase(target), admittedCase(target, tenant.key, "authenticated + admitted (GET /api/me)")]);
}

/** A per-round range as the tables print it. */
export function formatRange([low, high]: [number, number]): string {
  return `${low.toFixed(2)}–${high.toFixed(2)}×`;
}

export function formatTable(title: string, rows: BenchRow[]): string {
  const header = "| case | requests | concurrency | req/s | p50 ms | p95 ms | p50 vs baseline | rounds |";
  const rule = "|---|---:|---:|---:|---:|---:|---:|---:|";
  const lines = rows.map(
    (row) =>
      `| ${row.name} | ${row.requests} | ${row.concurrency} | ${row.requestsPerSecond} | ${row.p50Ms} | ${row.p95Ms} | ` +
      `${row.ratio}× | ${formatRange(row.ratioRange)} |`,
  );
  const note =
    `p50 vs baseline: the median over ${ROUNDS} interleaved rounds of the case's p50 over the baseline's p50 ` +
    "in the same round; rounds: the lowest and highest of those per-round ratios.";
  return [`### ${title}`, "", header, rule, ...lines, "", note].join("\n");
}
