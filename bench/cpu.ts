/**
 * Worker CPU per request over the no-op: the CPU time (user + system, from
 * `/proc/<pid>/stat`) of the local stack's Worker process — the Worker and
 * the tenant's Durable Object, one workerd process locally; not the libSQL
 * server — across a block of requests of one case, divided by the block's
 * requests, minus the no-op's in the same round. Interleaved rounds as in
 * `measureRounds`, so the machine's drift lands in both sides of a
 * difference. Linux only: elsewhere the table says it was not measured.
 *
 * `wrangler dev` runs a second workerd process in front of the Worker: its
 * proxy, which listens on the stack's port and forwards every request (a
 * deployed Worker has no such hop). The goal is read on the Worker's process;
 * the whole stack, proxy included, is shown beside it (before 2026-12-07 the
 * table summed both).
 */
import { readdirSync, readFileSync } from "node:fs";
import { type BenchCase, type BenchTarget, benchTenant, median, noopCase } from "./admission";
import { modernCall, seed, topicRecall, verify } from "./mcp";

const ROUNDS = 7;
const BLOCK = 400;
const CONCURRENCY = 8;
const MEMORIES = 10_000;
/** Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`; 100 on Linux everywhere we run). */
const TICKS_PER_SECOND = 100;

export interface CpuRow {
  name: string;
  /** Median over rounds of this case's CPU ms per request in the Worker's process. */
  msPerRequest: number;
  /** Median over rounds of that minus the no-op's in the same round. */
  overNoop: number;
  range: [number, number];
  /** The same difference for every workerd process of the stack (wrangler's proxy included). */
  stackOverNoop: number;
  /** Diagnostic rows (variants of recall) carry no goal. */
  goal: boolean;
}

/** The parent pid of every process, from /proc. */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // The command name is in parentheses and may hold spaces: fields are counted after its closing one.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      map.set(Number(name), Number(fields[1]));
    } catch {
      // Gone between the listing and the read.
    }
  }
  return map;
}

/** The workerd processes `wrangler dev` (pid `root`) started, at any depth. */
export function workerdPids(root: number): number[] {
  const tree = parents();
  const below = (pid: number): boolean => {
    for (let at = tree.get(pid); at !== undefined && at > 1; at = tree.get(at)) if (at === root) return true;
    return false;
  };
  return [...tree.keys()].filter((pid) => {
    if (!below(pid)) return false;
    try {
      return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "workerd";
    } catch {
      return false;
    }
  });
}

/** CPU seconds (user + system) the processes have used so far. */
export function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime: fields 14 and 15 of stat(5), 12 and 13 after the command name.
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / TICKS_PER_SECOND;
}

/** The workerd process wrangler's proxy runs in: the one listening on the stack's own port. */
function proxyPid(pids: number[], baseUrl: string): number | undefined {
  const port = new URL(baseUrl).port;
  return pids.find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(`entry=127.0.0.1:${port}\0`);
    } catch {
      return false;
    }
  });
}

async function block(item: BenchCase, worker: number[], all: number[]): Promise<{ worker: number; all: number }> {
  let next = 0;
  const before = { worker: cpuSeconds(worker), all: cpuSeconds(all) };
  const send = async () => {
    while (next < BLOCK) {
      next += 1;
      const response = await item.send();
      await response.arrayBuffer();
      if (response.status !== item.expectStatus) {
        throw new Error(`${item.name}: expected ${item.expectStatus}, got ${response.status}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, send));
  return {
    worker: ((cpuSeconds(worker) - before.worker) * 1000) / BLOCK,
    all: ((cpuSeconds(all) - before.all) * 1000) / BLOCK,
  };
}

const round2 = (value: number) => Number(value.toFixed(2));

export async function benchCpu(target: BenchTarget, wranglerPid: number | undefined): Promise<CpuRow[] | null> {
  const processes = stackProcesses(target, wranglerPid);
  if (!processes) return null;
  const url = `${target.baseUrl}/mcp`;
  const tenant = await benchTenant(target);
  await seed(target, tenant.id, MEMORIES);
  const list = modernCall(tenant.key, "tools/list", {});
  let n = 0;
  const recall = topicRecall(tenant.key, url);
  // Diagnostic variants: the same call answering one hit, and a word no memory holds (no candidates at all).
  const recallOne = topicRecall(tenant.key, url, { limit: 1 });
  const recallNone = () => {
    n += 1;
    return modernCall(tenant.key, "tools/call", { name: "recall", arguments: { query: `zq${n}x` } }, "recall")(url);
  };
  const remember = () => {
    n += 1;
    const args = { content: `cpu probe memory ${n}: the deploy went out after the cache was warmed`, kind: "fact" };
    return modernCall(tenant.key, "tools/call", { name: "remember", arguments: args }, "remember")(url);
  };
  await verify("tools/list", () => list(url));
  await verify("recall", recall);
  await verify("remember", remember);
  const cases: BenchCase[] = [
    noopCase(target),
    { name: "tools/list", send: () => list(url), expectStatus: 200 },
    { name: `recall over ${MEMORIES.toLocaleString("en")} memories`, send: recall, expectStatus: 200 },
    { name: "remember ×1", send: remember, expectStatus: 200 },
    { name: "(recall, limit 1)", send: recallOne, expectStatus: 200 },
    { name: "(recall of a word no memory holds)", send: recallNone, expectStatus: 200 },
  ];
  return cpuOverBaseline(processes, cases);
}

/**
 * Each case's CPU per request over the first case's (the baseline), in
 * interleaved rounds after a warm-up: in the Worker's process and in every
 * workerd process of the stack. Diagnostic cases (names in parentheses)
 * carry no goal.
 */
export async function cpuOverBaseline(
  pids: { worker: number[]; all: number[] },
  cases: BenchCase[],
): Promise<CpuRow[]> {
  for (const item of cases) for (let w = 0; w < 50; w++) await (await item.send()).arrayBuffer();
  const perRound = cases.map(() => [] as { worker: number; all: number }[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < cases.length; k++) {
      const index = (k + round) % cases.length;
      perRound[index]?.push(await block(cases[index] as BenchCase, pids.worker, pids.all));
    }
  }
  const baseline = perRound[0] ?? [];
  return cases.map((item, index) => {
    const own = perRound[index] ?? [];
    const over = own.map((value, round) => value.worker - (baseline[round]?.worker ?? Number.NaN));
    return {
      name: item.name,
      msPerRequest: round2(median(own.map((value) => value.worker))),
      overNoop: round2(median(over)),
      range: [round2(Math.min(...over)), round2(Math.max(...over))],
      stackOverNoop: round2(median(own.map((value, round) => value.all - (baseline[round]?.all ?? Number.NaN)))),
      goal: index > 0 && !item.name.startsWith("("),
    };
  });
}

/** The stack's workerd processes, the Worker's apart from wrangler's proxy; null where /proc cannot tell. */
export function stackProcesses(
  target: BenchTarget,
  wranglerPid: number | undefined,
): { worker: number[]; all: number[] } | null {
  if (process.platform !== "linux" || wranglerPid === undefined) return null;
  const all = workerdPids(wranglerPid);
  if (all.length === 0) return null;
  const proxy = proxyPid(all, target.baseUrl);
  return { worker: all.filter((pid) => pid !== proxy), all };
}

export function formatCpu(rows: CpuRow[] | null): string {
  if (!rows) return "### Worker CPU per request\n\nnot measured: needs Linux's /proc and the stack's workerd process.";
  const lines = rows.map(
    (row) =>
      `| ${row.name} | ${row.msPerRequest} | ${row.overNoop} | ${row.range[0]} to ${row.range[1]} | ` +
      `${row.stackOverNoop} | ${row.goal ? (row.overNoop <= 1 ? "met" : "MISSED") : ""} |`,
  );
  return [
    "### Worker CPU per request (workerd: the Worker and the tenant's object)",
    "",
    "| case | ms CPU / request | over the no-op | rounds | over the no-op, with wrangler's proxy | goal ≤ 1 ms |",
    "|---|---:|---:|---:|---:|---|",
    ...lines,
    "",
    `${ROUNDS} interleaved rounds of ${BLOCK} requests per case at concurrency ${CONCURRENCY}; utime + stime of the` +
      " Worker's workerd process from /proc (wrangler dev's proxy process beside it in its own column), medians over" +
      " rounds; rounds: the lowest and highest difference. Rows in parentheses are diagnostic variants of recall.",
  ].join("\n");
}
