/**
 * Soak: three tenants driven past their rate limits (free, pro, team) with a
 * mix of `remember` (both protocol eras), `recall`, `tools/list` and
 * `/api/usage`, plus anonymous traffic (bad API keys from a few addresses
 * and `/health`), all on loopback, for `SOAK_DURATION_MS` (default five
 * minutes). Every client alternates its requests between the Worker
 * instances it is given (two Miniflare instances on one Durable Object
 * namespace, tools/two-instances.ts; or `wrangler dev` alone), so each
 * tenant is admitted by two isolates at once.
 *
 * It checks what an operator would: every status answered is a documented
 * one for its kind of request, no Worker's log shows an uncaught error or a
 * cross-request promise error, and every write that was acknowledged is in
 * the tenant's database afterwards. With the tenant objects at hand (the two
 * instances) it checks admission exactness too (bench/soak-exactness.ts).
 */
import { readConfig } from "../shared/config";
import { openDatabase } from "../shared/db/client";
import type { Plan } from "../shared/plans";
import { createTenant, getTenantDatabase } from "../shared/tenants/tenants";
import type { LogWatch } from "../tools/output-log";
import { rpc } from "./mcp";
import {
  type AdmissionTally,
  checkExactness,
  countAdmission,
  newAdmissionTally,
  type TenantObjects,
} from "./soak-exactness";

export interface SoakTarget {
  /** The Worker instances' base URLs: every client alternates its requests between them. */
  baseUrls: string[];
  adminToken: string;
  /** Worker variables of the stack, to provision the soak's tenants and read their databases. */
  vars: Record<string, string>;
  /** Watch every line the Workers (and their runtime) print from now on. */
  watchLog(patterns: RegExp[]): LogWatch;
  /** The tenant objects' ledgers: given, the soak checks admission exactness. */
  objects?: TenantObjects;
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
/** Not faults by themselves (the statuses are checked), but what a missed exactness check is read against. */
const LOG_NOTABLE = [/usage flush failed/, /admission unavailable/, /Cannot connect to management database/];

interface Tenant {
  plan: Plan;
  id: string;
  key: string;
  /** Memories the service acknowledged: id → content. */
  accepted: Map<string, string>;
  admission: AdmissionTally;
}

interface Tally {
  /** kind → status → count. */
  statuses: Map<string, Map<number, number>>;
  /** Undocumented answers: kind, status and a sample. */
  undocumented: string[];
  writesSent: number;
  /** When the last answer of the run arrived. */
  lastAnswerAt: number;
}

const MODERN = "2026-07-28";
const envelope = {
  "io.modelcontextprotocol/protocolVersion": MODERN,
  "io.modelcontextprotocol/clientInfo": { name: "soak", version: "1" },
  "io.modelcontextprotocol/clientCapabilities": {},
};

function count(tally: Tally, kind: string, response: Response, sample: string): void {
  tally.lastAnswerAt = Date.now();
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

async function newTenant(target: SoakTarget, plan: Plan): Promise<Tenant> {
  const config = readConfig(target.vars);
  const created = await createTenant(openDatabase(config.mgmtDb, config.dbTimeoutMs), config, {
    orgName: `Soak ${plan}`,
    ownerEmail: `soak-${plan}@muninn.local`,
    plan,
    firstKeyName: "soak",
    actor: "bench",
  });
  if (!created.apiKey) throw new Error("soak tenant was created without a key");
  return { plan, id: created.tenant.id, key: created.apiKey.key, accepted: new Map(), admission: newAdmissionTally() };
}

function mcpPost(baseUrl: string, key: string, body: object, headers: Record<string, string> = {}) {
  return rpc(key, body, headers)(`${baseUrl}/mcp`);
}

function toolCall(baseUrl: string, key: string, tool: string, args: object, modern: boolean) {
  const params = { name: tool, arguments: args, ...(modern && { _meta: envelope }) };
  const headers: Record<string, string> = modern
    ? { "mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": tool }
    : {};
  return mcpPost(baseUrl, key, { jsonrpc: "2.0", id: 1, method: "tools/call", params }, headers);
}

/** One tenant's client: remember (alternating eras), recall, tools/list and usage, as fast as it is answered. */
async function driveTenant(target: SoakTarget, tenant: Tenant, tally: Tally, until: number, worker: number) {
  for (let n = 0; Date.now() < until; n++) {
    const step = n % 6;
    // Each client alternates between the instances, starting on a different one from its neighbour.
    const instance = (worker + n) % target.baseUrls.length;
    const base = target.baseUrls[instance] as string;
    const sentAt = Date.now();
    const answered = async (kind: string, response: Response, toolCall: boolean) => {
      const text = await response.text();
      count(tally, kind, response, text.slice(0, 200));
      countAdmission(tenant.admission, response, text, { instance, sentAt, toolCall });
      return text;
    };
    if (step <= 2) {
      const content = `soak ${tenant.plan} worker ${worker} note ${n} ${crypto.randomUUID()}`;
      tally.writesSent += 1;
      const response = await toolCall(
        base,
        tenant.key,
        "remember",
        { content, project: "soak", idempotency_key: `${worker}-${n}` },
        step === 1,
      );
      const text = await answered("tenant /mcp", response, true);
      if (response.status === 200) {
        const body = JSON.parse(text) as {
          result?: { isError?: boolean; structuredContent?: { results?: { id: string }[] } };
        };
        const id = body.result?.isError ? undefined : body.result?.structuredContent?.results?.[0]?.id;
        if (id) tenant.accepted.set(id, content);
      }
    } else if (step === 3) {
      const response = await toolCall(base, tenant.key, "recall", { query: "soak note", project: "soak" }, true);
      await answered("tenant /mcp", response, true);
    } else if (step === 4) {
      const response = await mcpPost(base, tenant.key, { jsonrpc: "2.0", id: 2, method: "tools/list" });
      await answered("tenant /mcp", response, false);
    } else {
      const response = await fetch(`${base}/api/usage`, { headers: { authorization: `Bearer ${tenant.key}` } });
      await answered("tenant /api/usage", response, false);
    }
  }
}

/** Anonymous traffic: bad keys from a handful of addresses, and health checks. */
async function driveAnonymous(target: SoakTarget, tally: Tally, until: number, worker: number) {
  const addresses = Array.from({ length: 2 }, (_, i) => `192.0.2.${10 * worker + i}`);
  for (let n = 0; Date.now() < until; n++) {
    // Alternating between the instances like the tenants' clients, each starting on a different one.
    const base = target.baseUrls[(worker + n) % target.baseUrls.length] as string;
    if (n % 4 === 3) {
      const response = await fetch(`${base}/health`);
      count(tally, "anonymous /health", response, (await response.text()).slice(0, 200));
      continue;
    }
    const key = `mk_${crypto.randomUUID().replaceAll("-", "")}soak${String(n).padStart(4, "0")}`.slice(0, 43);
    const response = await fetch(`${base}/api/me`, {
      headers: { authorization: `Bearer ${key}`, "cf-connecting-ip": addresses[n % addresses.length] as string },
    });
    count(tally, "anonymous bad key", response, (await response.text()).slice(0, 200));
  }
}

/** Acknowledged memories missing from the tenant's database (or stored with other content). */
async function missingWrites(target: SoakTarget, tenant: Tenant): Promise<number> {
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
  const tally: Tally = { statuses: new Map(), undocumented: [], writesSent: 0, lastAnswerAt: Date.now() };
  // Every line of the run is checked as it arrives: the run prints far more than the stack keeps.
  const watch = target.watchLog(LOG_FAULTS);
  const notable = target.watchLog(LOG_NOTABLE);
  const started = Date.now();
  const until = started + durationMs;
  await Promise.all([
    ...tenants.flatMap((tenant) => [0, 1, 2].map((worker) => driveTenant(target, tenant, tally, until, worker))),
    ...[0, 1].map((worker) => driveAnonymous(target, tally, until, worker)),
  ]);
  const seconds = (Date.now() - started) / 1000;
  // Admission's exactness once every lease has settled (this waits at least two lease lifetimes), then
  // let deferred work and metric flushes finish before reading the log.
  const exactness = target.objects
    ? await checkExactness(
        {
          baseUrl: target.baseUrls[0] as string,
          adminToken: target.adminToken,
          vars: target.vars,
          objects: target.objects,
        },
        tenants,
        target.baseUrls.length,
        tally.lastAnswerAt,
      )
    : null;
  await new Promise((resolve) => setTimeout(resolve, 3000));
  watch.stop();
  notable.stop();
  const faults = watch.matches();
  const faultCount = watch.count();
  const missing = await Promise.all(tenants.map((tenant) => missingWrites(target, tenant)));

  const lines = [
    `### Soak (${Math.round(seconds)} s, loopback, ${target.baseUrls.length === 1 ? "one Worker instance" : `${target.baseUrls.length} Worker instances on one Durable Object namespace`})`,
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
    ["uncaught or cross-request errors in the Workers' logs", String(faultCount), faultCount === 0],
    [
      "acknowledged writes missing from the tenant DBs",
      `${missingTotal} of ${accepted} (${tally.writesSent} sent)`,
      missingTotal === 0 && accepted > 0,
    ],
    ...(exactness?.checks ?? []),
  ];
  if (exactness) lines.push("", ...exactness.rows);
  else lines.push("", "Admission exactness not checked: one instance, whose tenant objects this soak cannot read.");
  lines.push("", "| check | this run | |", "|---|---:|---|");
  for (const [name, value, ok] of checks) lines.push(`| ${name} | ${value} | ${ok ? "met" : "MISSED"} |`);
  for (const sample of tally.undocumented) lines.push(`\nundocumented: ${sample}`);
  for (const line of faults.slice(0, 10)) lines.push(`\nlog: ${line.slice(0, 300)}`);
  if (notable.count() > 0)
    lines.push(`\n${notable.count()} log lines of failed flushes or an unreachable object or DB:`);
  for (const line of notable.matches().slice(0, 5)) lines.push(`\nlog: ${line.slice(0, 300)}`);
  return { table: lines.join("\n"), ok: checks.every(([, , ok]) => ok) };
}
