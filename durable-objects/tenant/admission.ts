import type { LimitSource, Plan, TenantStatus } from "../../shared/plans";

/**
 * The contract of `TenantDO.admit`: one RPC per request answers whether the
 * request may run (session alive, within the rate limit and quota, tenant
 * active) and with what plan.
 */
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
  /** A legacy-era `initialize`: when admitted, a session is created and returned in `session`. */
  initialize?: { protocolVersion: string; clientInfo: { name?: string; version?: string } | null };
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
  };
}

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

/** The legacy MCP session a request runs in (`sessionId` given, or just created by `initialize`). */
export interface AdmittedSession {
  id: string;
  protocolVersion: string;
  clientInfo: { name?: string; version?: string } | null;
  logLevel: string | null;
  created: boolean;
}

/** A session ended while admitting: expired when it was used, or evicted to make room under the plan's cap. */
export interface SessionClosure {
  id: string;
  reason: "idle" | "lifetime" | "cap";
}

export type AdmitRefusal =
  | { reason: "session_not_found"; closed?: SessionClosure | null }
  | { reason: "suspended" }
  | { reason: "rate_limited"; retryAfterSeconds: number; rateLimit: RateLimitState; plan: Plan }
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
    }
  | ({ admitted: false } & AdmitRefusal);

/** `TenantDO.chargeToolCall`: the call is counted and may run, or refused (quota spent, tenant suspended). */
export type ChargeResult =
  | { charged: true; quota: QuotaState }
  | { charged: false; reason: "suspended" }
  | { charged: false; reason: "quota_exceeded"; retryAfterSeconds: number; quota: QuotaState; plan: Plan };
