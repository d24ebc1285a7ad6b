/**
 * The console's memories room over a large project: the list page (keyset
 * page, counts from `memory_counts`) for an account with 100,000 memories
 * next to one with 1,000, in the same interleaved rounds, plus a filtered
 * page, the second page, a search, and the live poll. Goal: the 100k list
 * within 2× the 1k list (docs/auth.md, "The memories room").
 */
import {
  admittedCase,
  type BenchRow,
  type BenchTarget,
  formatRange,
  measureRounds,
  noopCase,
  ratioRange,
  roundRatio,
} from "./admission";
import { consoleAccount } from "./console";
import { seed } from "./mcp";

const SMALL = 1_000;
const LARGE = 100_000;

async function account(target: BenchTarget, tag: string, memories: number) {
  const { tenantId, key, page } = await consoleAccount(target, `memories-${tag}`);
  const started = performance.now();
  await seed(target, tenantId, memories);
  console.error(`memories room: seeded ${memories} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { key, page };
}

export async function benchMemoriesRoom(target: BenchTarget): Promise<BenchRow[]> {
  const small = await account(target, "1k", SMALL);
  const large = await account(target, "100k", LARGE);
  const first = await (await large.page("/app/memories?project=default")()).text();
  const older = /href="(\/app\/memories\?[^"]*cursor=[^"]+)"/.exec(first)?.[1]?.replace(/&amp;/g, "&");
  if (!older) throw new Error("the 100k list has no link to older memories");
  const since = Date.now();
  return measureRounds([
    noopCase(target),
    admittedCase(target, large.key, "authenticated + admitted (GET /api/me)"),
    { name: "memories list, 1k project", send: small.page("/app/memories?project=default"), expectStatus: 200 },
    { name: "memories list, 100k project", send: large.page("/app/memories?project=default"), expectStatus: 200 },
    { name: "memories list, 100k project, page 2", send: large.page(older), expectStatus: 200 },
    {
      name: "memories list, 100k project, kind filter",
      send: large.page("/app/memories?project=default&kind=decision"),
      expectStatus: 200,
    },
    {
      name: "memories search, 100k project",
      send: large.page("/app/memories?project=default&q=deploy+cache"),
      expectStatus: 200,
    },
    { name: "live poll, 100k project", send: large.page(`/app/memories/live?since=${since}`), expectStatus: 200 },
  ]);
}

/** The room's goal against this run's own figures. */
export function memoriesRoomGoals(rows: BenchRow[]): { table: string; ok: boolean } {
  const find = (name: string) => rows.find((row) => row.name === name)?.roundP50s ?? [Number.NaN];
  const smallList = find("memories list, 1k project");
  const lines: string[] = [];
  let ok = true;
  for (const name of [
    "memories list, 100k project",
    "memories list, 100k project, page 2",
    "memories list, 100k project, kind filter",
  ]) {
    const ratio = roundRatio(find(name), smallList);
    const met = ratio <= 2;
    ok &&= met;
    lines.push(
      `| ${name} p50 ≤ 2× the 1k list | ${ratio.toFixed(2)}× | ${formatRange(ratioRange(find(name), smallList))} | ${met ? "met" : "MISSED"} |`,
    );
  }
  return {
    ok,
    table: ["### Memories room goals", "", "| goal | this run | rounds | |", "|---|---:|---:|---|", ...lines].join(
      "\n",
    ),
  };
}
