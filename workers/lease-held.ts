import type {
  AdmitInput,
  AdmitRefusal,
  AdmitResult,
  AdmittedSession,
  ChargeResult,
  DatabaseState,
  Lease,
  LeaseSettlement,
  SessionSeen,
} from "../durable-objects/tenant/contract";
import { warnings } from "../durable-objects/tenant/warnings";

/**
 * One lease as an isolate holds it, and the decisions taken from it without
 * a call to the object (workers/admission-leases.ts keeps and renews them).
 */

type Tenant = AdmitInput["tenant"];
export type QuotaRefusal = Extract<AdmitRefusal, { reason: "quota_exceeded" }>;

export interface Held {
  lease: Lease;
  /**
   * Local time after which nothing more is admitted from it: the lifetime
   * counted from before the call was sent, so never later than the expiry
   * the object counted from when it granted.
   */
  until: number;
  requestsLeft: number;
  toolCallsLeft: number;
  usedRequests: number;
  usedToolCalls: number;
  /** Tool calls were asked for and the quota had no room: tool calls are refused until the lease ends. */
  quotaRefusal: QuotaRefusal | null;
  /** The credential record the lease was granted for: a newer credential renews at once. */
  record: string | null;
  /**
   * Legacy sessions the object said were alive when it granted this lease,
   * and when this isolate last served each (null: not yet): served without
   * asking until the lease ends, so a deleted or reaped session answers 404
   * within one lifetime. Their uses are reported with the renewal or return.
   */
  sessions: Map<string, { session: AdmittedSession; seenAt: number | null }>;
}

/** A lease just granted, as this isolate holds it; `asked`: when the call was sent (its lifetime counts from then). */
export function heldFrom(lease: Lease, asked: number, tenant: Tenant, toolCallsWanted: boolean): Held {
  return {
    lease,
    until: asked + lease.lifetimeMs,
    requestsLeft: lease.requests,
    toolCallsLeft: lease.toolCalls,
    usedRequests: 0,
    usedToolCalls: 0,
    quotaRefusal: toolCallsWanted && lease.toolCalls === 0 ? quotaRefusalOf(lease) : null,
    record: recordOf(tenant),
    sessions: new Map(lease.sessions.map((session) => [session.id, { session, seenAt: null }])),
  };
}

export function recordOf(tenant: Tenant): string | null {
  return tenant.recordUpdatedAt ?? null;
}

export function settlementOf(held: Held): LeaseSettlement {
  return { id: held.lease.id, requests: held.usedRequests, toolCalls: held.usedToolCalls };
}

/** The sessions a lease held: all of them (to ask about at a renewal), or only those it served (to report). */
export function seenOf(held: Held, all: boolean): SessionSeen[] {
  const seen: SessionSeen[] = [];
  for (const [id, { seenAt }] of held.sessions) if (all || seenAt !== null) seen.push({ id, seenAt });
  return seen;
}

/** One entry per session, with its latest use. */
export function mergeSeen(a: SessionSeen[], b: SessionSeen[]): SessionSeen[] {
  const byId = new Map<string, number | null>();
  for (const { id, seenAt } of [...a, ...b]) byId.set(id, Math.max(byId.get(id) ?? 0, seenAt ?? 0) || null);
  return [...byId].map(([id, seenAt]) => ({ id, seenAt }));
}

/**
 * A write while the lease says the tenant's database is being moved: not
 * admitted from the lease, and no unit spent; the caller asks the object,
 * which refuses it until the move ends and admits it from then on.
 */
export function migratingRefusal(held: Held): AdmitResult {
  const migration = held.lease.database.migration as NonNullable<DatabaseState["migration"]>;
  return { admitted: false, reason: "migrating", retryAfterSeconds: 30, migrationId: migration.id };
}

function quotaRefusalOf(lease: Lease): QuotaRefusal {
  const retryAfterSeconds = Math.max(1, Math.ceil((Date.parse(lease.quota.resetsAt) - Date.now()) / 1000));
  return { reason: "quota_exceeded", retryAfterSeconds, quota: lease.quota, plan: lease.plan };
}

export function refuseToolCall(held: Held): AdmitResult {
  held.requestsLeft -= 1;
  held.usedRequests += 1;
  return { admitted: false, ...(held.quotaRefusal as QuotaRefusal) };
}

/** Take one request unit and describe the window and quota as this isolate sees them. */
export function admitFrom(held: Held, now: number, sessionId: string | null): AdmitResult {
  held.requestsLeft -= 1;
  held.usedRequests += 1;
  const served = sessionId ? held.sessions.get(sessionId) : undefined;
  if (served) served.seenAt = now;
  const { lease } = held;
  const used = lease.rateLimit.used + held.usedRequests;
  const rateLimit = {
    ...lease.rateLimit,
    used,
    remaining: Math.max(0, lease.rateLimit.limit - used),
    // The lease's units are counted until a window after the slot the lease expires in.
    resetSeconds: Math.ceil((held.until + 1000 + lease.rateLimit.windowSeconds * 1000 - now) / 1000),
  };
  const quota = { ...lease.quota, used: lease.quota.used + held.usedToolCalls };
  return {
    admitted: true,
    plan: lease.plan,
    rateLimit,
    quota,
    warnings: warnings(lease, rateLimit, quota, now),
    database: lease.database,
    ...(served && { session: { ...served.session, created: false } }),
  };
}

export function chargeFrom(held: Held): ChargeResult {
  held.toolCallsLeft -= 1;
  held.usedToolCalls += 1;
  return { charged: true, quota: { ...held.lease.quota, used: held.lease.quota.used + held.usedToolCalls } };
}
