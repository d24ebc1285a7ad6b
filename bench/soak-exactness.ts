/**
 * The soak's admission exactness (issue 28): what the clients saw admitted,
 * against what the tenant's Durable Object counted and what its alarm wrote
 * to the management DB, once every lease has settled; and, per rate-limit
 * window, a client-side lower bound of what was admitted against the limit.
 *
 * Which answers were admitted. Admission sets the rate-limit headers on every
 * answer it admits (`X-RateLimit-Limit`, workers/admission.ts) and on a
 * rate-limit refusal; authentication failing before admission (503 "database
 * unavailable") and admission failing to reach the object (503 "admission
 * temporarily unavailable") carry none. So an answer is admitted when it
 * carries them and is not a 429 — a 200, and equally an error after
 * admission (which the object has counted). A 429 is a refusal: a rate-limit
 * one (`Rate limit exceeded`, counted as `rate_limited`) or a quota one
 * (`Plan quota exceeded`, `quota_exceeded`). A 200 without the headers would
 * mean this reading is wrong, so it is counted and fails the check.
 *
 * Which tool calls were charged. A `tools/call` is charged where the tool is
 * dispatched, just before it runs (workers/mcp/server.ts): an admitted call
 * answered with a result was charged, unless its error result is the charge's
 * own refusal (quota spent, tenant suspended, object unreachable: the tool did
 * not run; a quota refusal there counts as `quota_exceeded`). A tool failing
 * after the charge (its database unavailable) was charged. A JSON-RPC error is the SDK refusing the call before dispatch.
 */
import { EXPIRY_GRACE_MS, LEASE_LIFETIME_MS } from "../durable-objects/tenant/contract";
import { readConfig } from "../shared/config";
import { openDatabase } from "../shared/db/client";

/** What one tenant's clients saw of admission. */
export interface AdmissionTally {
  admitted: number;
  rateLimited: number;
  quotaExceeded: number;
  toolCalls: number;
  /** Admitted answers by the Worker instance that gave them. */
  byInstance: number[];
  /** 200s without admission's headers: the classification above would be wrong. */
  unexplained: number;
  /** Each admitted request's send and answer times (ms), flattened: admitted at some moment between them. */
  spans: number[];
  /** The limit and window (ms) the admitted answers stated (`RateLimit-Policy`). */
  policy: { limit: number; windowMs: number } | null;
}

export const newAdmissionTally = (): AdmissionTally => ({
  admitted: 0,
  rateLimited: 0,
  quotaExceeded: 0,
  toolCalls: 0,
  byInstance: [],
  unexplained: 0,
  spans: [],
  policy: null,
});

const CHARGE_REFUSED = /^(Plan quota exceeded|admission temporarily unavailable|Tenant suspended)/;

/** One tenant answer: from which instance, when its request left, whether it was a `tools/call`. */
export interface Sent {
  instance: number;
  sentAt: number;
  toolCall: boolean;
}

export function countAdmission(tally: AdmissionTally, response: Response, text: string, sent: Sent): void {
  const headed = response.headers.has("x-ratelimit-limit");
  if (response.status === 429) {
    if (text.includes("Rate limit exceeded")) tally.rateLimited += 1;
    else if (text.includes("Plan quota exceeded")) tally.quotaExceeded += 1;
    return;
  }
  if (!headed) {
    if (response.status === 200) tally.unexplained += 1;
    return;
  }
  tally.admitted += 1;
  tally.byInstance[sent.instance] = (tally.byInstance[sent.instance] ?? 0) + 1;
  tally.spans.push(sent.sentAt, Date.now());
  const policy = /q=(\d+);w=(\d+)/.exec(response.headers.get("ratelimit-policy") ?? "");
  if (policy && !tally.policy) tally.policy = { limit: Number(policy[1]), windowMs: Number(policy[2]) * 1000 };
  if (sent.toolCall && response.status === 200) {
    const body = JSON.parse(text) as { result?: { isError?: boolean; content?: { text?: string }[] } };
    const error = body.result?.isError ? (body.result.content?.[0]?.text ?? "") : "";
    // The charge's quota refusal is counted by the object as `quota_exceeded`, like admission's.
    if (error.startsWith("Plan quota exceeded")) tally.quotaExceeded += 1;
    if (body.result && !CHARGE_REFUSED.test(error)) tally.toolCalls += 1;
  }
}

/**
 * The most admitted requests seen inside any interval of `windowMs`: a
 * request counts for an interval only when both its send and its answer lie
 * in it, so it was certainly admitted in it. A lower bound of what the
 * service admitted there, so it may honestly be held to "never more than the
 * limit in any window"; it cannot show the service admitting too few.
 */
export function mostInAnyWindow(spans: number[], windowMs: number): number {
  const requests = Array.from({ length: spans.length / 2 }, (_, i) => [spans[2 * i], spans[2 * i + 1]] as const);
  requests.sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
  let most = 0;
  for (let i = 0; i < requests.length; i++) {
    const end = (requests[i]?.[0] ?? 0) + windowMs;
    let inside = 0;
    for (let j = i; j < requests.length && (requests[j]?.[0] ?? 0) < end; j++) {
      if ((requests[j]?.[1] ?? 0) < end) inside += 1;
    }
    most = Math.max(most, inside);
  }
  return most;
}

/** The tenant objects behind the Workers: their lease ledgers and whether their counts reached the management DB. */
export interface TenantObjects {
  leasesOutstanding(tenantId: string): Promise<number[]>;
  usageUnflushed(tenantId: string): Promise<boolean>;
}

export interface ExactnessTarget {
  /** A Worker instance serving the admin API. */
  baseUrl: string;
  adminToken: string;
  vars: Record<string, string>;
  objects: TenantObjects;
}

interface Counts {
  requests: number;
  rate_limited: number;
  quota_exceeded: number;
  tool_calls: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** How long to wait for a settled state on a loaded machine before calling it missed. */
const SETTLE_TIMEOUT_MS = 30_000;
/** How much longer to keep watching a missed flush, to tell a late one from one that never comes. */
const LATE_WATCH_MS = 60_000;

async function objectCounts(target: ExactnessTarget, tenantId: string): Promise<Counts> {
  const response = await fetch(`${target.baseUrl}/api/tenants/${tenantId}`, {
    headers: { authorization: `Bearer ${target.adminToken}` },
  });
  if (response.status !== 200) throw new Error(`admin API: tenant ${tenantId} answered ${response.status}`);
  return ((await response.json()) as { usage: Counts }).usage;
}

/**
 * Wait until the tenant's object has settled everything the isolates did:
 * every lease they hold is returned at the end of its lifetime
 * (`LEASE_LIFETIME_MS`) and the refusals they answered locally are reported
 * then; a lease nobody returns is reconciled by the object's alarm
 * `EXPIRY_GRACE_MS` after it expired. So from `LEASE_LIFETIME_MS +
 * EXPIRY_GRACE_MS` after the last answer nothing is owed; on a loaded machine
 * the reports can run late, so the wait goes on until the ledger is empty and
 * the counts have not moved for a lease lifetime (counts only grow: waiting
 * for them to stop moving cannot hide an excess). Returns the counts then.
 */
async function settledCounts(target: ExactnessTarget, tenantId: string, deadline: number): Promise<Counts | null> {
  let previous: Counts | null = null;
  while (Date.now() < deadline) {
    const leases = await target.objects.leasesOutstanding(tenantId);
    const counts = await objectCounts(target, tenantId);
    if (leases.length === 0 && previous && JSON.stringify(previous) === JSON.stringify(counts)) return counts;
    previous = leases.length === 0 ? counts : null;
    await sleep(LEASE_LIFETIME_MS);
  }
  return null;
}

/**
 * The month's row the object's alarm wrote to the management DB, once it has
 * written everything it counted (`USAGE_FLUSH_INTERVAL_MS` after a count),
 * with when that was; null when it never was, `LATE_WATCH_MS` past the deadline.
 */
async function flushedCounts(
  target: ExactnessTarget,
  tenantId: string,
  deadline: number,
): Promise<{ counts: Counts | null; at: number } | null> {
  while (await target.objects.usageUnflushed(tenantId)) {
    if (Date.now() > deadline + LATE_WATCH_MS) return null;
    await sleep(100);
  }
  return { counts: await usageRow(target, tenantId), at: Date.now() };
}

async function usageRow(target: ExactnessTarget, tenantId: string): Promise<Counts | null> {
  const config = readConfig(target.vars);
  const mgmt = openDatabase(config.mgmtDb, config.dbTimeoutMs);
  try {
    const rows = await mgmt.execute(
      {
        sql: "SELECT requests, rate_limited, quota_exceeded, tool_calls FROM usage WHERE tenant_id = ?",
        args: [tenantId],
      },
      "read",
    );
    const row = rows.rows[0];
    return row
      ? {
          requests: Number(row.requests),
          rate_limited: Number(row.rate_limited),
          quota_exceeded: Number(row.quota_exceeded),
          tool_calls: Number(row.tool_calls),
        }
      : null;
  } finally {
    mgmt.close();
  }
}

export interface ExactnessResult {
  rows: string[];
  checks: [string, string, boolean][];
}

/** Compare each tenant's client tally with its object and its management-DB row; `lastAnswerAt` ends the run. */
export async function checkExactness(
  target: ExactnessTarget,
  tenants: { id: string; plan: string; admission: AdmissionTally }[],
  instances: number,
  lastAnswerAt: number,
): Promise<ExactnessResult> {
  await sleep(Math.max(0, lastAnswerAt + LEASE_LIFETIME_MS + EXPIRY_GRACE_MS - Date.now()));
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  const rows = [
    "| tenant | admitted per instance | admitted: clients / object / mgmt DB | rate-limited 429: clients / object / mgmt DB | tool calls charged: clients / object / mgmt DB | most admitted in any window (limit) |",
    "|---|---:|---:|---:|---:|---:|",
  ];
  const mismatches: string[] = [];
  const late: string[] = [];
  let settledAfter = 0;
  let overLimit = 0;
  let unexplained = 0;
  let oneIsolate = 0;
  // All tenants at once: each waits on its own object.
  const observed = await Promise.all(
    tenants.map(async (tenant) => {
      const object = await settledCounts(target, tenant.id, deadline);
      const settledAt = Date.now();
      const flushed = object ? await flushedCounts(target, tenant.id, deadline) : null;
      return { object, settledAt, flushed };
    }),
  );
  for (const [i, tenant] of tenants.entries()) {
    const tally = tenant.admission;
    const { object, settledAt, flushed: flush } = observed[i] as (typeof observed)[number];
    const flushed = flush?.counts ?? null;
    settledAfter = Math.max(settledAfter, settledAt - lastAnswerAt, (flush?.at ?? 0) - lastAnswerAt);
    if (flush && flush.at > deadline) {
      late.push(`${tenant.plan} flushed only ${((flush.at - lastAnswerAt) / 1000).toFixed(1)} s after the last answer`);
    }
    if (object && !flush)
      late.push(`${tenant.plan} still unflushed ${((Date.now() - lastAnswerAt) / 1000).toFixed(0)} s after`);
    const clients: Counts = {
      requests: tally.admitted,
      rate_limited: tally.rateLimited,
      quota_exceeded: tally.quotaExceeded,
      tool_calls: tally.toolCalls,
    };
    for (const key of Object.keys(clients) as (keyof Counts)[]) {
      if (object?.[key] !== clients[key] || flushed?.[key] !== clients[key]) {
        mismatches.push(
          `${tenant.plan} ${key}: ${clients[key]} / ${object?.[key] ?? "unsettled"} / ${flushed?.[key] ?? "unflushed"}`,
        );
      }
    }
    const windowed = tally.policy ? mostInAnyWindow(tally.spans, tally.policy.windowMs) : 0;
    if (tally.policy && windowed > tally.policy.limit) overLimit += 1;
    unexplained += tally.unexplained;
    const perInstance = Array.from({ length: instances }, (_, i) => tally.byInstance[i] ?? 0);
    if (perInstance.some((n) => n === 0)) oneIsolate += 1;
    const cell = (key: keyof Counts) => `${clients[key]} / ${object?.[key] ?? "—"} / ${flushed?.[key] ?? "—"}`;
    rows.push(
      `| ${tenant.plan} | ${perInstance.join(" / ")} | ${cell("requests")} | ${cell("rate_limited")} | ${cell("tool_calls")} | ${windowed} (${tally.policy?.limit ?? "?"}/${(tally.policy?.windowMs ?? 0) / 1000} s) |`,
    );
  }
  const checks: [string, string, boolean][] = [
    ["tenants not admitted through every instance", String(oneIsolate), oneIsolate === 0],
    ["200 answers without admission's headers", String(unexplained), unexplained === 0],
    [
      "object and management DB count exactly what clients saw admitted, refused and charged",
      mismatches.length === 0
        ? `all equal, settled ${(settledAfter / 1000).toFixed(1)} s after the last answer`
        : mismatches.join("; "),
      mismatches.length === 0,
    ],
    [
      `object counts settled and written to the management DB within ${SETTLE_TIMEOUT_MS / 1000} s`,
      late.length === 0 ? "yes" : late.join("; "),
      late.length === 0,
    ],
    ["tenants admitted over their limit in some window (client-side lower bound)", String(overLimit), overLimit === 0],
  ];
  return { rows, checks };
}
