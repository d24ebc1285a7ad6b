/**
 * `npx tsx bench/db-round-trip.ts [requests]`: what one database round trip
 * costs the Worker's CPU, layer by layer (bench/worker/db-round-trip-entry.ts
 * names the variants: none, the bare `fetch`, our client, our guard and
 * metrics, the OAuth fence). Each variant runs in a Miniflare instance of its
 * own (one workerd process each) against a local HTTP server that answers
 * every request with a fixed Hrana pipeline answer, so only the Worker's side
 * is measured (the server is another process). CPU is utime + stime of the
 * instance's workerd process from `/proc`, per request, over interleaved
 * rounds; each variant's figure is over `none` in the same round.
 * `DB_SERVER=libsql` asks the local libSQL server instead (see `LIBSQL`);
 * `INSPECT=1` attaches an inspector client with `Runtime.enable` to each
 * instance, as `wrangler dev` does to the Worker's process for its console.
 * Linux only. Figures: docs/benchmarks/2026-12-07-tool-cpu.md.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { freePort } from "../tools/free-port";
import { startLibsqlServer } from "../tools/libsql-server/server";
import { wranglerRequire } from "../tools/wrangler";
import { median } from "./admission";
import { cpuSeconds, workerdPids } from "./cpu";

/**
 * `DB_SERVER=libsql`: the same reads against the local libSQL server
 * (tools/libsql-server, a database of one table) instead of the fixed answer;
 * `remember` is left out (it needs the tenant schema).
 */
const LIBSQL = process.env.DB_SERVER === "libsql";
const VARIANTS = LIBSQL
  ? (["none", "fetch", "client", "guarded", "fenced"] as const)
  : (["none", "fetch", "client", "guarded", "fenced", "remember"] as const);
const ROUNDS = 7;
const BLOCK = Number(process.argv[2] ?? 1000);
const CONCURRENCY = 8;

/** A value as Hrana's JSON writes it. */
const text = (value: string) => ({ type: "text", value });
const column = (name: string) => ({ name, decltype: null });

/**
 * The answer to one statement: a similar-memory lookup gets eight candidates
 * (as a save in a busy project would), a `SELECT` one row, a write one
 * affected row.
 */
function stepResult(sql: string, step: number) {
  if (sql.startsWith("WITH candidates")) {
    const rows = Array.from({ length: 8 }, (_, index) => [
      text(`m_candidate${index}`),
      { type: "null" },
      text(`cpu probe memory ${index}: the deploy went out after the cache was warmed and the replica caught up`),
    ]);
    return { cols: ["id", "title", "content"].map(column), rows, affected_row_count: 0, last_insert_rowid: null };
  }
  if (sql.startsWith("SELECT")) {
    return {
      cols: [column("n")],
      rows: [[{ type: "integer", value: String(step) }]],
      affected_row_count: 0,
      last_insert_rowid: null,
    };
  }
  const affected = sql.startsWith("INSERT") ? 1 : 0;
  return { cols: [], rows: [], affected_row_count: affected, last_insert_rowid: null };
}

/** A pipeline's answer: every step but the ROLLBACK (the last) ran and succeeded. */
function answer(body: string): string {
  const request = JSON.parse(body) as { requests: { batch?: { steps: { stmt: { sql: string } }[] } }[] };
  const steps = request.requests[0]?.batch?.steps ?? [];
  const results = steps.map((step, index) => (index === steps.length - 1 ? null : stepResult(step.stmt.sql, index)));
  return JSON.stringify({
    baton: null,
    base_url: null,
    results: [
      {
        type: "ok",
        response: { type: "batch", result: { step_results: results, step_errors: steps.map(() => null) } },
      },
      { type: "ok", response: { type: "close" } },
    ],
  });
}

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(answer(Buffer.concat(chunks).toString("utf8")));
  });
});
await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
const address = server.address();
if (!address || typeof address === "string") throw new Error("no server address");
let dbUrl = `http://127.0.0.1:${address.port}/`;
const libsqlDir = LIBSQL ? await mkdtemp(join(tmpdir(), "db-round-trip-libsql-")) : null;
const libsql = libsqlDir ? await startLibsqlServer({ port: 0, dataDir: libsqlDir }) : null;
if (libsql) {
  dbUrl = `${libsql.url}/bench/`;
  const created = await fetch(`${dbUrl}v3/pipeline`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      baton: null,
      requests: [
        { type: "execute", stmt: { sql: "CREATE TABLE memory_counts (project TEXT PRIMARY KEY, active INTEGER)" } },
        { type: "execute", stmt: { sql: "INSERT INTO memory_counts VALUES ('', 42)" } },
        { type: "close" },
      ],
    }),
  });
  if (!created.ok) throw new Error(`libSQL server answered ${created.status}: ${await created.text()}`);
}

const dir = await mkdtemp(join(tmpdir(), "db-round-trip-"));
const script = join(dir, "worker.js");
await build({
  entryPoints: ["bench/worker/db-round-trip-entry.ts"],
  bundle: true,
  format: "esm",
  platform: "browser",
  conditions: ["workerd", "worker", "browser"],
  external: ["node:*", "cloudflare:*"],
  outfile: script,
  logLevel: "error",
});

const bundled = await readFile(script, "utf8");
const { Miniflare, convertV4MiniflareOptions } = wranglerRequire("miniflare") as {
  Miniflare: typeof import("miniflare").Miniflare;
  convertV4MiniflareOptions: (options: unknown) => ConstructorParameters<typeof import("miniflare").Miniflare>[0];
};

const sockets: WebSocket[] = [];
const instances: { variant: (typeof VARIANTS)[number]; mf: InstanceType<typeof Miniflare>; pids: number[] }[] = [];
for (const variant of VARIANTS) {
  const before = new Set(workerdPids(process.pid));
  const worker = {
    name: "bench",
    modules: true,
    script: bundled,
    compatibilityDate: "2026-11-01",
    compatibilityFlags: ["nodejs_compat", "global_fetch_strictly_public"],
    bindings: { VARIANT: variant, DB_URL: dbUrl },
  };
  const inspectorPort = process.env.INSPECT ? await freePort() : undefined;
  const mf = new Miniflare(convertV4MiniflareOptions({ cf: false, inspectorPort, workers: [worker] }));
  await mf.ready;
  if (inspectorPort) {
    const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as {
      webSocketDebuggerUrl: string;
    }[];
    const socket = new WebSocket(
      targets.find((t) => t.webSocketDebuggerUrl.includes("bench"))?.webSocketDebuggerUrl ??
        targets[0]?.webSocketDebuggerUrl ??
        "",
    );
    await new Promise((open) => socket.addEventListener("open", open, { once: true }));
    socket.send(JSON.stringify({ id: 1, method: "Runtime.enable" }));
    sockets.push(socket);
  }
  instances.push({ variant, mf, pids: workerdPids(process.pid).filter((pid) => !before.has(pid)) });
}

async function block(mf: InstanceType<typeof Miniflare>, requests: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < requests) {
        next += 1;
        const response = await mf.dispatchFetch("http://bench/");
        const text = await response.text();
        if (response.status !== 200) throw new Error(`answered ${response.status}: ${text}`);
      }
    }),
  );
}

for (const { mf } of instances) await block(mf, 200);
const perRound = instances.map(() => [] as number[]);
for (let round = 0; round < ROUNDS; round++) {
  for (let k = 0; k < instances.length; k++) {
    const index = (k + round) % instances.length;
    const { mf, pids } = instances[index] as (typeof instances)[number];
    const before = cpuSeconds(pids);
    await block(mf, BLOCK);
    perRound[index]?.push(((cpuSeconds(pids) - before) * 1000) / BLOCK);
  }
}

const baseline = perRound[0] ?? [];
console.log(`${ROUNDS} interleaved rounds of ${BLOCK} requests at concurrency ${CONCURRENCY}; ms CPU per request`);
console.log("| variant | ms / request | over none | over none, rounds |");
console.log("|---|---:|---:|---:|");
instances.forEach(({ variant }, index) => {
  const own = perRound[index] ?? [];
  const over = own.map((value, round) => value - (baseline[round] ?? Number.NaN));
  console.log(
    `| ${variant} | ${median(own).toFixed(3)} | ${median(over).toFixed(3)} | ` +
      `${Math.min(...over).toFixed(3)} to ${Math.max(...over).toFixed(3)} |`,
  );
});

for (const socket of sockets) socket.close();
for (const { mf } of instances) await mf.dispose();
server.close();
await libsql?.close();
await rm(dir, { recursive: true, force: true });
if (libsqlDir) await rm(libsqlDir, { recursive: true, force: true });
