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
  /** p50 over the baseline's p50. */
  ratio: number;
}

const DEFAULT_REQUESTS = 2000;
const DEFAULT_CONCURRENCY = 8;
const DEFAULT_WARMUP = 100;

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

export async function measure(
  name: string,
  send: () => Promise<Response>,
  expectStatus: number,
  /** Fewer requests for cases that write a lot per request (a batch of 50 memories). */
  {
    requests: REQUESTS = DEFAULT_REQUESTS,
    concurrency: CONCURRENCY = DEFAULT_CONCURRENCY,
    warmup: WARMUP = DEFAULT_WARMUP,
  } = {},
): Promise<Omit<BenchRow, "ratio">> {
  for (let i = 0; i < WARMUP; i++) await (await send()).arrayBuffer();
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < REQUESTS) {
      next += 1;
      const t0 = performance.now();
      const response = await send();
      await response.arrayBuffer();
      latencies.push(performance.now() - t0);
      if (response.status !== expectStatus)
        throw new Error(`${name}: expected ${expectStatus}, got ${response.status}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    name,
    requests: latencies.length,
    concurrency: CONCURRENCY,
    requestsPerSecond: Math.round(latencies.length / elapsed),
    p50Ms: Number(percentile(latencies, 50).toFixed(2)),
    p95Ms: Number(percentile(latencies, 95).toFixed(2)),
  };
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
  const response = await fetch(`${target.baseUrl}/api/tenants/${created.tenant.id}`, {
    method: "PATCH",
    headers: { authorization: `Bearer ${target.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ rate_limit_override: 100_000 }),
  });
  if (!response.ok) throw new Error(`could not raise the benchmark tenant's limit: ${response.status}`);
  return { id: created.tenant.id, key: created.apiKey.key };
}

export async function benchAdmission(target: BenchTarget): Promise<BenchRow[]> {
  const tenant = await benchTenant(target);
  const baseline = await measure("no-op request (baseline)", () => fetch(`${target.baseUrl}/bench/no-op`), 404);
  const admitted = await measure(
    "authenticated + admitted (GET /api/me)",
    () => fetch(`${target.baseUrl}/api/me`, { headers: { authorization: `Bearer ${tenant.key}` } }),
    200,
  );
  return [baseline, admitted].map((row) => ({ ...row, ratio: Number((row.p50Ms / baseline.p50Ms).toFixed(2)) }));
}

export function formatTable(title: string, rows: BenchRow[]): string {
  const header = "| case | requests | concurrency | req/s | p50 ms | p95 ms | p50 vs baseline |";
  const rule = "|---|---:|---:|---:|---:|---:|---:|";
  const lines = rows.map(
    (row) =>
      `| ${row.name} | ${row.requests} | ${row.concurrency} | ${row.requestsPerSecond} | ${row.p50Ms} | ${row.p95Ms} | ${row.ratio}× |`,
  );
  return [`### ${title}`, "", header, rule, ...lines].join("\n");
}
