import type { LimitSource, Plan, TenantStatus } from "../../shared/plans";
import type { UsageTotals } from "../../shared/usage";

/**
 * The contract between the Worker and a tenant's Durable Object (`TenantDO`):
 * every type that crosses its RPC boundary, in one module both sides import.
 * The object's internals (stores, limiter, meter) import their shapes from
 * here too, so a change to what the Worker sees is a change to this file.
 */

/** What one `TenantDO.admit` call is asked: one RPC per request decides whether it may run and with what plan. */
export interface AdmitInput {
  /** Which surface the request came through. */
  kind: "mcp" | "api";
  /** `Mcp-Session-Id` of a legacy-era MCP request; absent for stateless requests. */
  sessionId?: string | null;
  /**
   * True for an MCP `tools/call`: refused while the monthly quota is
   * exhausted. Admission does not charge it; the tool dispatch does
   * (`TenantDO.chargeToolCall`) once the protocol layer has accepted the call,
   * so only calls that run are counted.
   */
  toolCall?: boolean;
  /** The request writes to the tenant's database: refused while the tenant is being migrated. */
  write?: boolean;
  /**
   * A route a suspended tenant may still use (reading its billing, the
   * billing portal: it must be able to see what it pays and cancel or fix
   * payment). Rate-limited as usual; a deleted tenant is refused anyway.
   */
  allowSuspended?: boolean;
  /**
   * The request calls Stripe's API (Checkout, the billing portal): it also
   * spends a unit of the tenant's Stripe budget (`BILLING_STRIPE_CALLS_PER_MINUTE`),
   * so no tenant can exhaust the platform's Stripe rate limit for everyone.
   */
  stripeCall?: boolean;
  /** A legacy-era `initialize`: when admitted, a session is created and returned in `session`. */
  initialize?: { protocolVersion: string; clientInfo: ClientInfo | null };
  /**
   * What the Worker knows of the tenant from its credential, and the
   * `tenants.updated_at` of the record it was read from. A credential that
   * says the tenant is not active is refused whatever the object holds; the
   * record also brings the object's copy up to date unless that copy is newer.
   */
  tenant: {
    id: string;
    plan: Plan;
    status: TenantStatus;
    rateLimitOverride: number | null;
    recordUpdatedAt?: string | null;
    graceEndsAt?: string | null;
  };
}

export type ClientInfo = { name?: string; version?: string };

export interface RateLimitState {
  limit: number;
  /** Whether `limit` is the plan's or the tenant's `rate_limit_override`. */
  source: LimitSource;
  /** Requests counted in the current window. */
  used: number;
  remaining: number;
  /** Seconds until the window has fully recovered. */
  resetSeconds: number;
  windowSeconds: number;
}

export interface QuotaState {
  /** null: unlimited. */
  limit: number | null;
  used: number;
  /** ISO time at which the monthly counter starts again. */
  resetsAt: string;
}

/** Why a legacy MCP session ended. `rejected`: the protocol layer refused the initialize that created it. */
export type CloseReason = "delete" | "idle" | "lifetime" | "cap" | "admin" | "rejected";

/** A session that ended, and why: expired when used, reaped, evicted under the plan's cap, or closed. */
export interface SessionClosure {
  id: string;
  reason: CloseReason;
}

/** The legacy MCP session a request runs in (`sessionId` given, or just created by `initialize`). */
export interface AdmittedSession {
  id: string;
  protocolVersion: string;
  clientInfo: ClientInfo | null;
  logLevel: string | null;
  created: boolean;
}

export type AdmitRefusal =
  | { reason: "session_not_found"; closed?: SessionClosure | null }
  | { reason: "suspended" }
  | { reason: "migrating"; retryAfterSeconds: number; migrationId: string }
  | { reason: "rate_limited"; retryAfterSeconds: number; rateLimit: RateLimitState; plan: Plan }
  | { reason: "stripe_calls_limited"; retryAfterSeconds: number; limit: number; windowSeconds: number }
  | { reason: "quota_exceeded"; retryAfterSeconds: number; quota: QuotaState; plan: Plan };

export type AdmitResult =
  | {
      admitted: true;
      plan: Plan;
      rateLimit: RateLimitState | null;
      quota: QuotaState | null;
      warnings: string[];
      session?: AdmittedSession;
      closedSessions?: SessionClosure[];
      /** The tenant database's pointer generation and any migration under way. */
      database?: DatabaseState;
    }
  | ({ admitted: false } & AdmitRefusal);

/**
 * What the object knows of the tenant's database: the generation of its
 * pointer (moves each time a migration switches it) and whether a migration
 * is under way. Admission hands both out with every decision, which is how
 * every isolate learns of a switch on its very next request, and how writes
 * are refused while the data is being copied.
 */
export interface DatabaseState {
  /** null until the first migration of this tenant: the credential's pointer is current. */
  generation: number | null;
  migration: { id: string; since: number } | null;
}

/**
 * `TenantDO.markMigrating`: writes are refused from now on, by the object
 * and by every lease it grants; a lease granted before may still admit a
 * write until `leasedUntil` (epoch ms; null when none is outstanding). The
 * move raises its write fence only after that, so such a write lands before
 * the fence and is copied, rather than being refused by it.
 */
export interface MigrationMark {
  leasedUntil: number | null;
}

/** `TenantDO.reserveToolCalls`: how many of those asked were counted (fewer once the quota is spent), and the quota after. */
export type ReserveResult = { granted: number; quota: QuotaState };

/** `TenantDO.chargeToolCall`: the call is counted and may run, or refused (quota spent, tenant suspended). */
export type ChargeResult =
  | { charged: true; quota: QuotaState }
  | { charged: false; reason: "suspended" }
  | { charged: false; reason: "quota_exceeded"; retryAfterSeconds: number; quota: QuotaState; plan: Plan };

/** A legacy MCP session as the object stores it (the admin API lists these). Times are epoch ms. */
export interface SessionRecord {
  id: string;
  createdAt: number;
  lastSeenAt: number;
  protocolVersion: string;
  clientInfo: ClientInfo | null;
  logLevel: string | null;
}

/** A tenant's legacy MCP sessions now, and how many were ever created and closed (by reason). */
export interface SessionList {
  sessions: SessionRecord[];
  created: number;
  closed: Record<CloseReason, number>;
}

/** The rate-limit window as it stands, without counting a request. */
export interface RateLimitStatus extends RateLimitState {
  plan: Plan;
  /** ISO time at which everything now in the window has aged out. */
  resetAt: string;
}

/** This month's counts and the tool-call quota they are measured against. */
export interface UsageStatus {
  usage: UsageTotals;
  quota: QuotaState;
}

/**
 * The object's own copy of what admission depends on. The management DB is
 * the record; this copy is what makes a change take effect on the very next
 * request. The Worker's view comes from a credential cache that may be a
 * minute old, so once the object holds settings they win, and the admin API
 * pushes every change (`TenantDO.updateSettings`) right after writing it.
 * Until the first push or request, the object adopts what the Worker passes.
 */
export interface TenantSettings {
  tenantId: string;
  plan: Plan;
  status: TenantStatus;
  rateLimitOverride: number | null;
  /** While a payment is failing: when the paid plan's grace period ends (admitted responses carry a warning). */
  graceEndsAt?: string | null;
}

/**
 * Settings from a management-DB record. A push carries the record's
 * `updated_at`, and an older record never replaces a newer one, so a slow
 * push (or a read that re-applies the record it just read) cannot undo a
 * change that already arrived. A copy adopted from a request has no version
 * and yields to any record.
 */
export interface VersionedSettings extends TenantSettings {
  /** `tenants.updated_at` of the record these settings come from; null when adopted from a request. */
  recordUpdatedAt: string | null;
}

/**
 * How long an isolate may admit from a lease (docs/rate-limits.md, "Leases").
 * Also the bound on how stale an isolate's view can be: a plan change, an
 * override or a suspension reaches every isolate within one lifetime.
 */
export const LEASE_LIFETIME_MS = 1000;

/**
 * Time for a settlement already on its way when a lease expires to arrive
 * before the object reconciles the lease as used in full (leases.ts). So
 * `LEASE_LIFETIME_MS + EXPIRY_GRACE_MS` after a grant, the lease is settled
 * one way or the other.
 */
export const EXPIRY_GRACE_MS = LEASE_LIFETIME_MS;

/**
 * How much one lease grants out of `remaining`: a tenth of what remains, and
 * at most `cap` — 10, or what the limit allows in one lease lifetime when that
 * is more (a tenant allowed 100,000 a minute gets leases of 1,667, so a busy
 * isolate asks about once a lifetime rather than hundreds of times) — and at
 * least one. Near the limit leases shrink to single units, so the budget is not
 * stranded in one isolate while another one is refused.
 */
export function leaseSize(remaining: number, cap = 10): number {
  return remaining <= 0 ? 0 : Math.max(1, Math.min(Math.max(10, cap), Math.floor(remaining / 10)));
}

/** The most a lease may hold of a limit of `limit` per `windowMs`: what that rate allows in one lifetime. */
export function perLifetime(limit: number, windowMs: number): number {
  return Math.ceil((limit * LEASE_LIFETIME_MS) / windowMs);
}

/** What an isolate used of a lease it ends (renewal or return); the object gives back the rest. */
export interface LeaseSettlement {
  id: string;
  requests: number;
  toolCalls: number;
}

/** `TenantDO.lease`: settle what this isolate held, and ask for a new budget. */
export interface LeaseInput {
  tenant: AdmitInput["tenant"];
  settle: LeaseSettlement[];
  /** Request units wanted; when none are left the call is refused with `rate_limited`. */
  requests: boolean;
  /** Tool-call units wanted too (a `tools/call` is being admitted or charged). */
  toolCalls: boolean;
  /**
   * A renewal ahead: the isolate still holds a lease and no request waits on
   * this one, so a refusal is not a refused request and is not counted.
   */
  ahead?: boolean;
  /** Requests this isolate refused from a refusal it remembered, since its last call (usage counts them). */
  refused?: { rateLimited: number; quotaExceeded: number };
  /**
   * A legacy session a request names that this isolate does not hold as
   * alive: checked (expired on the spot, touched) before anything is
   * granted; unknown or expired refuses with `session_not_found`.
   */
  session?: string | null;
  /** The legacy sessions this isolate held with its lease: touched as seen, and answered with those still alive. */
  sessions?: SessionSeen[];
}

/** `TenantDO.returnLeases`: settle leases held to their end, with the sessions served from them. */
export type LeaseReturn = Pick<LeaseInput, "settle" | "refused" | "sessions">;

/**
 * A legacy session an isolate served from its lease, and when it last did
 * (epoch ms; null when not since it last reported). Reported with the
 * renewal or return, so the session's idle time is kept without a call per
 * request.
 */
export interface SessionSeen {
  id: string;
  seenAt: number | null;
}

/** A budget an isolate admits from without asking the object, until `lifetimeMs` after it asked. */
export interface Lease {
  id: string;
  lifetimeMs: number;
  /** Requests this lease may admit. */
  requests: number;
  /** Tool calls it may charge; 0 when not asked for or when the quota has no room. */
  toolCalls: number;
  /** Moves on every change of plan, override or status; an isolate's next renewal sees it. */
  version: number;
  plan: Plan;
  /** The window as it stood before this lease's units were counted. */
  rateLimit: RateLimitState;
  /** The quota as settled before this lease (its own units not included). */
  quota: QuotaState;
  graceEndsAt: string | null;
  /** A write is refused while `database.migration` is set, and sent to the new database when `generation` moves. */
  database: DatabaseState;
  /**
   * The legacy sessions asked about (`LeaseInput.session` and `sessions`)
   * that are alive now: the isolate may serve requests in them until the
   * lease ends without asking again, so a deleted or reaped session answers
   * 404 within one lease lifetime.
   */
  sessions: AdmittedSession[];
}

export type LeaseResult =
  | { granted: true; lease: Lease }
  | {
      granted: false;
      refusal: Extract<AdmitRefusal, { reason: "suspended" | "rate_limited" | "quota_exceeded" | "session_not_found" }>;
    };
