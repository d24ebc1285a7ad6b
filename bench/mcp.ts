/**
 * What MCP costs on top of a no-op request: `tools/list` in each era (the
 * protocol overhead alone: auth from the isolate's cache, one `admit` RPC,
 * a server instance per request), `remember` (a read and a write round trip
 * to the tenant DB), and `recall` over 1k / 10k / 100k memories (how search
 * scales with the size of a tenant's memory). Same harness and table as the
 * admission benchmark; the ratio to the baseline is the figure to watch.
 */
import { readConfig } from "../shared/config";
import { openDatabase } from "../shared/db/client";
import { getTenantDatabase } from "../shared/tenants/tenants";
import {
  admittedCase,
  type BenchCase,
  type BenchRow,
  type BenchTarget,
  benchTenant,
  measureRounds,
  noopCase,
} from "./admission";

const MODERN = "2026-07-28";
const LEGACY = "2025-11-25";

/** A JSON-RPC POST to `/mcp` with a tenant's key, as an MCP client sends it; call the result with the URL. */
export function rpc(key: string, body: object, headers: Record<string, string> = {}) {
  return (url: string) =>
    fetch(url, {
      method: "POST",
      headers: {
        authorization: `Bearer ${key}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...headers,
      },
      body: JSON.stringify(body),
    });
}

const envelope = {
  "io.modelcontextprotocol/protocolVersion": MODERN,
  "io.modelcontextprotocol/clientInfo": { name: "bench", version: "1" },
  "io.modelcontextprotocol/clientCapabilities": {},
};

export function modernCall(key: string, method: string, params: Record<string, unknown>, name?: string) {
  return rpc(
    key,
    { jsonrpc: "2.0", id: 1, method, params: { ...params, _meta: envelope } },
    { "mcp-protocol-version": MODERN, "mcp-method": method, ...(name && { "mcp-name": name }) },
  );
}

/** Fail loudly if a case answers with a JSON-RPC or tool error: a fast error is not a result. */
export async function verify(name: string, send: () => Promise<Response>) {
  const response = await send();
  const text = await response.text();
  if (!response.ok || text.includes('"isError":true') || text.includes('"error":')) {
    throw new Error(`${name}: not a successful answer (${response.status}): ${text.slice(0, 300)}`);
  }
}

// A vocabulary where each word is in about 1% of memories, plus one topic word
// in 10% of them: a query ("deploy w3kx") then matches about a tenth of the
// tenant's memories, a realistic share for a topical question.
const WORDS = Array.from({ length: 3000 }, (_, i) => `w${i.toString(36)}x`);
const COMMON = ["deploy", "login", "cache", "queue", "billing", "schema", "migration", "retry", "token", "session"];

/** The `n`th of five topic words the seeded memories share: the CPU and latency cases' recall queries, in turn. */
export function topicQuery(n: number): string {
  return COMMON[n % 5] as string;
}

/** A 2026-era `recall` of the seeded topics, another topic each call; `args` adds to its arguments. */
export function topicRecall(key: string, url: string, args: Record<string, unknown> = {}): () => Promise<Response> {
  let n = 0;
  return () => {
    n += 1;
    return modernCall(
      key,
      "tools/call",
      { name: "recall", arguments: { query: topicQuery(n), ...args } },
      "recall",
    )(url);
  };
}

function pick(random: () => number): string {
  return WORDS[Math.floor(WORDS.length * random())] as string;
}

function seededRandom(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/** Insert `count` memories straight into the tenant DB (the FTS triggers index them as the app's writes do). */
export async function seed(target: BenchTarget, tenantId: string, count: number, options: { unique?: boolean } = {}) {
  const config = readConfig(target.vars);
  const record = await getTenantDatabase(openDatabase(config.mgmtDb, config.dbTimeoutMs), config, tenantId);
  if (!record) throw new Error("benchmark tenant has no database");
  const db = openDatabase(record.coordinates, 60_000);
  const random = seededRandom(count);
  const kinds = ["note", "fact", "decision", "learning", "procedure"];
  const now = Date.now();
  for (let start = 0; start < count; start += 500) {
    const statements = [];
    for (let i = start; i < Math.min(count, start + 500); i++) {
      const words = Array.from({ length: 40 }, () => pick(random));
      words[Math.floor(random() * words.length)] = COMMON[i % COMMON.length] as string;
      statements.push({
        sql: `INSERT INTO memories (id, project, kind, title, content, content_hash, tags, importance, created_at, updated_at)
              VALUES (?, 'default', ?, ?, ?, ?, ?, ?, ?, ?)`,
        args: [
          `m_seed${i}`,
          kinds[i % kinds.length] as string,
          words.slice(0, 5).join(" "),
          options.unique ? `${words.join(" ")} (${i})` : words.join(" "),
          `seed-${i}`,
          JSON.stringify([COMMON[(i * 7) % COMMON.length]]),
          1 + (i % 5),
          now - i * 60_000,
          now - i * 60_000,
        ],
      });
    }
    await db.batch(statements, "write");
  }
  db.close();
}

export async function benchMcp(target: BenchTarget, options: { listOnly?: boolean } = {}): Promise<BenchRow[]> {
  const url = `${target.baseUrl}/mcp`;
  const tenant = await benchTenant(target);
  const legacyList = rpc(tenant.key, { jsonrpc: "2.0", id: 1, method: "tools/list" });
  const modernList = modernCall(tenant.key, "tools/list", {});
  await verify("tools/list 2025", () => legacyList(url));
  await verify("tools/list 2026", () => modernList(url));
  const init = await rpc(tenant.key, {
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: "bench", version: "1" } },
  })(url);
  const sessionId = init.headers.get("mcp-session-id") ?? "";
  await init.arrayBuffer();
  const sessionList = rpc(
    tenant.key,
    { jsonrpc: "2.0", id: 2, method: "tools/list" },
    { "mcp-session-id": sessionId, "mcp-protocol-version": LEGACY },
  );
  await verify("tools/list 2025 session", () => sessionList(url));

  const cases: BenchCase[] = [
    noopCase(target),
    // The floor under every MCP row: authentication from the isolate's cache and the one
    // admission round trip to the tenant's Durable Object, with a small answer and no MCP.
    admittedCase(target, tenant.key, "authenticated + admitted, no MCP (GET /api/me)"),
    { name: `tools/list, ${LEGACY} (no session)`, send: () => legacyList(url), expectStatus: 200 },
    { name: `tools/list, ${LEGACY} (in a session)`, send: () => sessionList(url), expectStatus: 200 },
    { name: `tools/list, ${MODERN}`, send: () => modernList(url), expectStatus: 200 },
  ];
  if (options.listOnly) return measureRounds(cases);

  let counter = 0;
  const rememberOne = () => {
    counter += 1;
    const args = { content: `Benchmark memory ${counter}: ${COMMON[counter % COMMON.length]} ${crypto.randomUUID()}` };
    return modernCall(tenant.key, "tools/call", { name: "remember", arguments: args }, "remember")(url);
  };
  await verify("remember", rememberOne);
  cases.push({ name: "remember (one memory)", send: rememberOne, expectStatus: 200 });

  for (const size of [1_000, 10_000, 100_000]) {
    // Recall and the batches have a tenant each, seeded alike, so the memories the batches add
    // during the run do not grow the corpus recall is measured over.
    const reader = await benchTenant(target);
    await seed(target, reader.id, size);
    const writer = await benchTenant(target);
    await seed(target, writer.id, size);
    let n = 0;
    const recallOne = () => {
      n += 1;
      const query = `${COMMON[n % COMMON.length]} ${WORDS[(n * 13) % 200]}`;
      return modernCall(reader.key, "tools/call", { name: "recall", arguments: { query } }, "recall")(url);
    };
    await verify(`recall ${size}`, recallOne);
    // A batch of 50 memories like the seeded ones (40 words, one topic word), so the duplicate and
    // similar-memory lookups of every item meet a corpus of this size.
    const random = seededRandom(size + 1);
    const rememberBatch = () => {
      const memories = Array.from({ length: 50 }, (_, i) => ({
        content: [COMMON[i % COMMON.length], ...Array.from({ length: 39 }, () => pick(random))].join(" "),
      }));
      return modernCall(writer.key, "tools/call", { name: "remember", arguments: { memories } }, "remember")(url);
    };
    await verify(`remember x50 ${size}`, rememberBatch);
    const label = size.toLocaleString("en");
    cases.push({ name: `recall over ${label} memories`, send: recallOne, expectStatus: 200 });
    cases.push({
      name: `remember ×50 over ${label} memories`,
      send: rememberBatch,
      expectStatus: 200,
      requests: 40,
      concurrency: 2,
      warmup: 2,
    });
  }
  return measureRounds(cases);
}
