import type { LimitSource } from "../../shared/plans";
import type { Plan, TenantStatus } from "../../shared/tenants/tenants";
import type { DatabaseState } from "./database-state";

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
  /** True for an MCP `tools/call` that names a known tool with valid arguments: it is metered. */
  toolCall?: boolean;
  /** The request writes to the tenant's database: refused while the tenant is being migrated. */
  write?: boolean;
  /** A legacy-era `initialize`: when admitted, a session is created and returned in `session`. */
  initialize?: { protocolVersion: string; clientInfo: { name?: string; version?: string } | null };
  /** What the Worker knows of the tenant from its credential; the DO's own copy wins once it has one. */
  tenant: { id: string; plan: Plan; status: TenantStatus; rateLimitOverride: number | null };
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
  | { reason: "migrating"; retryAfterSeconds: number; migrationId: string }
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
      /** The tenant database's pointer generation and any migration under way (see `DatabaseState`). */
      database?: DatabaseState;
    }
  | ({ admitted: false } & AdmitRefusal);
