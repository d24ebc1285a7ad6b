/**
 * Worker CPU per request over the no-op: the CPU time (user + system, from
 * `/proc/<pid>/stat`) of the local stack's workerd process — the Worker and
 * the tenant's Durable Object, one process locally; not the libSQL server —
 * across a block of requests of one case, divided by the block's requests,
 * minus the no-op's in the same round. Interleaved rounds as in
 * `measureRounds`, so the machine's drift lands in both sides of a
 * difference. Linux only: elsewhere the table says it was not measured.
 */
import { readdirSync, readFileSync } from "node:fs";
import { type BenchCase, type BenchTarget, benchTenant, noopCase } from "./admission";
import { modernCall, seed, verify } from "./mcp";

const ROUNDS = 7;
const BLOCK = 400;
const CONCURRENCY = 8;
const MEMORIES = 10_000;
/** Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`; 100 on Linux everywhere we run). */
const TICKS_PER_SECOND = 100;

export interface CpuRow {
  name: string;
  /** Median over rounds of this case's workerd CPU ms per request. */
  msPerRequest: number;
  /** Median over rounds of that minus the no-op's in the same round. */
  overNoop: number;
  range: [number, number];
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

async function block(item: BenchCase, pids: number[]): Promise<number> {
  let next = 0;
  const before = cpuSeconds(pids);
  const worker = async () => {
    while (next < BLOCK) {
      next += 1;
      const response = await item.send();
      await response.arrayBuffer();
      if (response.status !== item.expectStatus) {
        throw new Error(`${item.name}: expected ${item.expectStatus}, got ${response.status}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return ((cpuSeconds(pids) - before) * 1000) / BLOCK;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const round2 = (value: number) => Number(value.toFixed(2));

export async function benchCpu(target: BenchTarget, wranglerPid: number | undefined): Promise<CpuRow[] | null> {
  if (process.platform !== "linux" || wranglerPid === undefined) return null;
  const pids = workerdPids(wranglerPid);
  if (pids.length === 0) return null;
  const url = `${target.baseUrl}/mcp`;
  const tenant = await benchTenant(target);
  await seed(target, tenant.id, MEMORIES);
  const list = modernCall(tenant.key, "tools/list", {});
  let n = 0;
  const recall = () => {
    n += 1;
    const query = ["deploy", "login", "cache", "queue", "billing"][n % 5] as string;
    return modernCall(tenant.key, "tools/call", { name: "recall", arguments: { query } }, "recall")(url);
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
  ];
  for (const item of cases) for (let w = 0; w < 50; w++) await (await item.send()).arrayBuffer();
  const perRound = cases.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < cases.length; k++) {
      const index = (k + round) % cases.length;
      (perRound[index] as number[]).push(await block(cases[index] as BenchCase, pids));
    }
  }
  const noop = perRound[0] as number[];
  return cases.map((item, index) => {
    const own = perRound[index] as number[];
    const over = own.map((value, round) => value - (noop[round] ?? Number.NaN));
    return {
      name: item.name,
      msPerRequest: round2(median(own)),
      overNoop: round2(median(over)),
      range: [round2(Math.min(...over)), round2(Math.max(...over))],
    };
  });
}

export function formatCpu(rows: CpuRow[] | null): string {
  if (!rows) return "### Worker CPU per request\n\nnot measured: needs Linux's /proc and the stack's workerd process.";
  const lines = rows.map(
    (row) =>
      `| ${row.name} | ${row.msPerRequest} | ${row.overNoop} | ${row.range[0]} to ${row.range[1]} | ` +
      `${row.name.startsWith("no-op") ? "" : row.overNoop <= 1 ? "met" : "MISSED"} |`,
  );
  return [
    "### Worker CPU per request (workerd: the Worker and the tenant's object)",
    "",
    "| case | ms CPU / request | over the no-op | rounds | goal ≤ 1 ms |",
    "|---|---:|---:|---:|---|",
    ...lines,
    "",
    `${ROUNDS} interleaved rounds of ${BLOCK} requests per case at concurrency ${CONCURRENCY}; utime + stime of the` +
      " workerd process from /proc, medians over rounds; rounds: the lowest and highest difference.",
  ].join("\n");
}
