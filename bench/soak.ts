/**
 * Soak: three tenants driven past their rate limits (free, pro, team) with a
 * mix of `remember` (both protocol eras), `recall`, `tools/list` and
 * `/api/usage`, plus anonymous traffic (bad API keys from a few addresses
 * and `/health`), all on loopback against the local stack, for
 * `SOAK_DURATION_MS` (default five minutes).
 *
 * It checks what an operator would: every status answered is a documented
 * one for its kind of request, the Worker's log shows no uncaught error and
 * no cross-request promise error, and every write that was acknowledged is
 * in the tenant's database afterwards.
 */
import { readConfig } from "../shared/config";
import { openDatabase } from "../shared/db/client";
import type { Plan } from "../shared/plans";
import { createTenant, getTenantDatabase } from "../shared/tenants/tenants";
import type { LogWatch } from "../tools/output-log";
import type { BenchTarget } from "./admission";
import { rpc } from "./mcp";

export interface SoakTarget extends BenchTarget {
  /** Watch every line `wrangler dev` prints from now on. */
  watchLog(patterns: RegExp[]): LogWatch;
}

/** Statuses each kind of request may answer with, and why (docs/mcp.md, docs/rate-limits.md, README). */
const DOCUMENTED: Record<string, Record<number, string>> = {
  "tenant /mcp": {
    200: "served (including tool errors in the body)",
    429: "rate limit or quota",
    503: "tenant's share of the pool or database unavailable, with Retry-After",
  },
  "tenant /api/usage": { 200: "served", 429: "rate limit", 503: "database unavailable, with Retry-After" },
  "anonymous bad key": { 401: "unknown key", 429: "address past its failed-authentication budget" },
  "anonymous /health": { 200: "healthy or degraded" },
};

/** Runtime messages that must never appear in the Worker's log. */
const LOG_FAULTS = [/Uncaught/, /Promise will never complete/, /IoContext dropped queued cross-context actions/];

interface Tenant {
  plan: Plan;
  id: string;
  key: string;
  /** Memories the service acknowledged: id → content. */
  accepted: Map<string, string>;
}

interface Tally {
  /** kind → status → count. */
  statuses: Map<string, Map<number, number>>;
  /** Undocumented answers: kind, status and a sample. */
  undocumented: string[];
  writesSent: number;
}

const MODERN = "2026-07-28";
const envelope = {
  "io.modelcontextprotocol/protocolVersion": MODERN,
  "io.modelcontextprotocol/clientInfo": { name: "soak", version: "1" },
  "io.modelcontextprotocol/clientCapabilities": {},
};

function count(tally: Tally, kind: string, response: Response, sample: string): void {
  const byStatus = tally.statuses.get(kind) ?? new Map<number, number>();
  tally.statuses.set(kind, byStatus);
  byStatus.set(response.status, (byStatus.get(response.status) ?? 0) + 1);
  const documented = DOCUMENTED[kind]?.[response.status] !== undefined;
  const retryAfterMissing =
    (response.status === 429 || response.status === 503) && !response.headers.get("retry-after");
  if ((!documented || retryAfterMissing) && tally.undocumented.length < 20) {
    tally.undocumented.push(`${kind} ${response.status}${retryAfterMissing ? " without Retry-After" : ""}: ${sample}`);
  }
}

async function newTenant(target: BenchTarget, plan: Plan): Promise<Tenant> {
  const config = readConfig(target.vars);
  const created = await createTenant(openDatabase(config.mgmtDb, config.dbTimeoutMs), config, {
    orgName: `Soak ${plan}`,
    ownerEmail: `soak-${plan}@muninn.local`,
    plan,
    firstKeyName: "soak",
    actor: "bench",
  });
  if (!created.apiKey) throw new Error("soak tenant was created without a key");
  return { plan, id: created.tenant.id, key: created.apiKey.key, accepted: new Map() };
}

function mcpPost(target: BenchTarget, key: string, body: object, headers: Record<string, string> = {}) {
  return rpc(key, body, headers)(`${target.baseUrl}/mcp`);
}

function toolCall(target: BenchTarget, key: string, tool: string, args: object, modern: boolean) {
  const params = { name: tool, arguments: args, ...(modern && { _meta: envelope }) };
  const headers: Record<string, string> = modern
    ? { "mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": tool }
    : {};
  return mcpPost(target, key, { jsonrpc: "2.0", id: 1, method: "tools/call", params }, headers);
}

/** One tenant's client: remember (alternating eras), recall, tools/list and usage, as fast as it is answered. */
async function driveTenant(target: BenchTarget, tenant: Tenant, tally: Tally, until: number, worker: number) {
  for (let n = 0; Date.now() < until; n++) {
    const step = n % 6;
    if (step <= 2) {
      const content = `soak ${tenant.plan} worker ${worker} note ${n} ${crypto.randomUUID()}`;
      tally.writesSent += 1;
      const response = await toolCall(
        target,
        tenant.key,
        "remember",
        { content, project: "soak", idempotency_key: `${worker}-${n}` },
        step === 1,
      );
      const text = await response.text();
      count(tally, "tenant /mcp", response, text.slice(0, 200));
      if (response.status === 200) {
        const body = JSON.parse(text) as {
          result?: { isError?: boolean; structuredContent?: { results?: { id: string }[] } };
        };
        const id = body.result?.isError ? undefined : body.result?.structuredContent?.results?.[0]?.id;
        if (id) tenant.accepted.set(id, content);
      }
    } else if (step === 3) {
      const response = await toolCall(target, tenant.key, "recall", { query: "soak note", project: "soak" }, true);
      count(tally, "tenant /mcp", response, (await response.text()).slice(0, 200));
    } else if (step === 4) {
      const response = await mcpPost(target, tenant.key, { jsonrpc: "2.0", id: 2, method: "tools/list" });
      count(tally, "tenant /mcp", response, (await response.text()).slice(0, 200));
    } else {
      const response = await fetch(`${target.baseUrl}/api/usage`, {
        headers: { authorization: `Bearer ${tenant.key}` },
      });
      count(tally, "tenant /api/usage", response, (await response.text()).slice(0, 200));
    }
  }
}

/** Anonymous traffic: bad keys from a handful of addresses, and health checks. */
async function driveAnonymous(target: BenchTarget, tally: Tally, until: number, worker: number) {
  const addresses = Array.from({ length: 2 }, (_, i) => `192.0.2.${10 * worker + i}`);
  for (let n = 0; Date.now() < until; n++) {
    if (n % 4 === 3) {
      const response = await fetch(`${target.baseUrl}/health`);
      count(tally, "anonymous /health", response, (await response.text()).slice(0, 200));
      continue;
    }
    const key = `mk_${crypto.randomUUID().replaceAll("-", "")}soak${String(n).padStart(4, "0")}`.slice(0, 43);
    const response = await fetch(`${target.baseUrl}/api/me`, {
      headers: { authorization: `Bearer ${key}`, "cf-connecting-ip": addresses[n % addresses.length] as string },
    });
    count(tally, "anonymous bad key", response, (await response.text()).slice(0, 200));
  }
}

/** Acknowledged memories missing from the tenant's database (or stored with other content). */
async function missingWrites(target: BenchTarget, tenant: Tenant): Promise<number> {
  const config = readConfig(target.vars);
  const record = await getTenantDatabase(openDatabase(config.mgmtDb, config.dbTimeoutMs), config, tenant.id);
  if (!record) throw new Error(`soak tenant ${tenant.id} has no database`);
  const db = openDatabase(record.coordinates, 30_000);
  try {
    const rows = await db.execute("SELECT id, content FROM memories", "read");
    const stored = new Map(rows.rows.map((row) => [String(row.id), String(row.content)]));
    let missing = 0;
    for (const [id, content] of tenant.accepted) if (stored.get(id) !== content) missing += 1;
    return missing;
  } finally {
    db.close();
  }
}

export interface SoakResult {
  table: string;
  ok: boolean;
}

export async function soak(target: SoakTarget, durationMs: number): Promise<SoakResult> {
  const tenants = await Promise.all((["free", "pro", "team"] as const).map((plan) => newTenant(target, plan)));
  const tally: Tally = { statuses: new Map(), undocumented: [], writesSent: 0 };
  // Every line of the run is checked as it arrives: the run prints far more than the stack keeps.
  const watch = target.watchLog(LOG_FAULTS);
  const started = Date.now();
  const until = started + durationMs;
  await Promise.all([
    ...tenants.flatMap((tenant) => [0, 1, 2].map((worker) => driveTenant(target, tenant, tally, until, worker))),
    ...[0, 1].map((worker) => driveAnonymous(target, tally, until, worker)),
  ]);
  const seconds = (Date.now() - started) / 1000;
  // Let deferred work and metric flushes finish before reading the log.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  watch.stop();
  const faults = watch.matches();
  const faultCount = watch.count();
  const missing = await Promise.all(tenants.map((tenant) => missingWrites(target, tenant)));

  const lines = [
    `### Soak (${Math.round(seconds)} s, loopback)`,
    "",
    "| requests | status | count | documented as |",
    "|---|---:|---:|---|",
  ];
  let total = 0;
  for (const [kind, byStatus] of tally.statuses) {
    for (const [status, n] of [...byStatus].sort((a, b) => a[0] - b[0])) {
      total += n;
      lines.push(`| ${kind} | ${status} | ${n} | ${DOCUMENTED[kind]?.[status] ?? "**undocumented**"} |`);
    }
  }
  const accepted = tenants.reduce((sum, tenant) => sum + tenant.accepted.size, 0);
  const missingTotal = missing.reduce((a, b) => a + b, 0);
  const checks: [string, string, boolean][] = [
    ["requests answered", `${total} (${Math.round(total / seconds)} req/s)`, total > 0],
    ["undocumented statuses", String(tally.undocumented.length), tally.undocumented.length === 0],
    ["uncaught or cross-request errors in the Worker log", String(faultCount), faultCount === 0],
    [
      "acknowledged writes missing from the tenant DBs",
      `${missingTotal} of ${accepted} (${tally.writesSent} sent)`,
      missingTotal === 0 && accepted > 0,
    ],
  ];
  lines.push("", "| check | this run | |", "|---|---:|---|");
  for (const [name, value, ok] of checks) lines.push(`| ${name} | ${value} | ${ok ? "met" : "MISSED"} |`);
  for (const sample of tally.undocumented) lines.push(`\nundocumented: ${sample}`);
  for (const line of faults.slice(0, 10)) lines.push(`\nlog: ${line.slice(0, 300)}`);
  return { table: lines.join("\n"), ok: checks.every(([, , ok]) => ok) };
}
