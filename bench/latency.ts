/**
 * Admission with the tenant's object far away: every call from the Worker to
 * the tenant's Durable Object delayed by 50 ms (bench/worker/far-object-entry.ts,
 * an entry only this benchmark starts), as for an agent whose tenant object
 * lives in another region. `tools/list` and `recall` p50, with admission
 * leases and without them (`ADMISSION_LEASES=off`: one call to the object per
 * request, as before leases), each stack measured against its own no-op.
 */
import { type BenchCase, type BenchRow, type BenchTarget, benchTenant, measureRounds, noopCase } from "./admission";
import { modernCall, seed, topicRecall, verify } from "./mcp";
import { FAR_OBJECT_DELAY_MS } from "./worker/far-object-constants";

/** Starts a local stack running the far-object entry with admission leases on or off; `stop` ends it. */
export type FarStack = (leases: boolean) => Promise<{ target: BenchTarget; stop: () => Promise<void> }>;

const REQUESTS = 400;
const MEMORIES = 1_000;

async function measure(target: BenchTarget): Promise<BenchRow[]> {
  const url = `${target.baseUrl}/mcp`;
  const tenant = await benchTenant(target);
  await seed(target, tenant.id, MEMORIES);
  const list = modernCall(tenant.key, "tools/list", {});
  const recall = topicRecall(tenant.key, url);
  await verify("tools/list", () => list(url));
  await verify("recall", recall);
  const cases: BenchCase[] = [
    { ...noopCase(target), requests: REQUESTS, warmup: 20 },
    { name: "tools/list", send: () => list(url), expectStatus: 200, requests: REQUESTS, warmup: 20 },
    {
      name: `recall over ${MEMORIES.toLocaleString("en")} memories`,
      send: recall,
      expectStatus: 200,
      requests: REQUESTS,
      warmup: 20,
    },
  ];
  return measureRounds(cases);
}

export async function benchFarObject(start: FarStack): Promise<{ without: BenchRow[]; with: BenchRow[] }> {
  const results: { without: BenchRow[]; with: BenchRow[] } = { without: [], with: [] };
  for (const leases of [false, true]) {
    const stack = await start(leases);
    try {
      results[leases ? "with" : "without"] = await measure(stack.target);
    } finally {
      await stack.stop();
    }
  }
  return results;
}

export function formatFarObject(results: { without: BenchRow[]; with: BenchRow[] }): string {
  const lines = results.with.map((row, i) => {
    const before = results.without[i] as BenchRow;
    return (
      `| ${row.name} | ${before.p50Ms} | ${before.ratio}× | ${row.p50Ms} | ${row.ratio}× | ` +
      `${(before.p50Ms / row.p50Ms).toFixed(1)}× |`
    );
  });
  return [
    `### Tenant object ${FAR_OBJECT_DELAY_MS} ms away (every call to it delayed)`,
    "",
    "| case | p50 ms, no leases | vs no-op | p50 ms, leases | vs no-op | faster |",
    "|---|---:|---:|---:|---:|---:|",
    ...lines,
    "",
    `${REQUESTS} requests per case at concurrency 8 in 5 interleaved rounds, each stack against its own no-op;` +
      " goal with leases: tools/list ≤ 1.15× its no-op.",
  ].join("\n");
}
