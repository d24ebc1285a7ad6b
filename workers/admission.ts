import type { Context, MiddlewareHandler } from "hono";
import type {
  AdmitInput,
  AdmitRefusal,
  AdmitResult,
  ChargeResult,
  QuotaState,
  RateLimitState,
} from "../durable-objects/tenant/contract";
import { AppError, unavailable } from "../shared/errors";
import { describeError } from "../shared/logging";
import { type Plan, type PlanLimitTable, upgradeFrom } from "../shared/plans";
import { AdmissionLeases, type Defer } from "./admission-leases";
import type { AuthenticatedTenant } from "./auth/authenticate";
import { refreshCredential } from "./auth/authenticate";
import { countObjectError, recorder } from "./ops/telemetry";
import { recordToolCall } from "./ops/traffic";
import type { AppEnv } from "./types";

export type AdmitRequest = Omit<AdmitInput, "tenant">;

/**
 * Admit an authenticated request through the tenant's Durable Object — the one
 * place where rate limit, quota, status (and, for legacy MCP, the session) are
 * decided exactly across isolates. Sets the rate-limit, quota and warning
 * headers on the response and logs refusals. Returns the decision so the
 * caller maps a refusal to its protocol: `admissionError` for HTTP routes,
 * a JSON-RPC error for `/mcp`.
 *
 * If the Durable Object cannot be reached the request is refused (503): a
 * limit that silently stopped applying would be the worse failure.
 */
export async function admit(c: Context<AppEnv>, request: AdmitRequest): Promise<AdmitResult> {
  const auth = c.get("auth");
  let result: AdmitResult;
  try {
    const stub = c.env.TENANT_DO.getByName(auth.tenantId);
    const leased = leasable(c, request);
    result = leased
      ? await leases.admit(stub, tenantOf(auth), request, deferTo(c))
      : await stub.admit({ ...request, tenant: tenantOf(auth) });
    // A lease that says the tenant's database is being moved sends each write to the object, which
    // refuses it until the move ends and admits it the moment it does (nothing was spent on the lease).
    if (leased && !result.admitted && result.reason === "migrating") {
      result = await stub.admit({ ...request, tenant: tenantOf(auth) });
    }
  } catch (error) {
    countObjectError("tenant", "admit");
    c.get("logger").error("admission unavailable", { tenant: auth.tenantId, ...describeError(error) });
    throw unavailable("admission temporarily unavailable", { cause: error });
  }
  setAdmissionHeaders(c, result);
  recordAdmission(c, result);
  // The object's pointer generation is newer than the credential's: the
  // tenant was moved to another database since this isolate resolved it.
  const generation = result.admitted ? result.database?.generation : null;
  if (generation != null && generation > auth.dbGeneration) await refreshCredential(c);
  return result;
}

/**
 * This isolate's leases of every tenant's budget (docs/rate-limits.md,
 * "Leases"). Module state on purpose: a lease is worth keeping exactly as long
 * as the isolate lives, and dies with it.
 */
const leases = new AdmissionLeases();

/**
 * Whether a request may be admitted from a lease. A write may: a lease
 * carries the tenant's database state, so once a move has begun every lease
 * refuses writes, and the move raises its write fence only after the leases
 * granted before it have expired (docs/lifecycle.md). A legacy session's
 * request may: the lease holds the sessions the object said were alive.
 * Not an initialize (it creates a session record, and the plan's cap on
 * sessions is decided by the object), not a billing route (one a suspended
 * tenant may use, or one that spends the Stripe budget: both decided by the
 * object), and not a credential that already says the tenant is not active
 * (the object decides and records that).
 */
function leasable(c: Context<AppEnv>, request: AdmitRequest): boolean {
  return (
    c.get("services").config.admissionLeases &&
    !request.initialize &&
    !request.allowSuspended &&
    !request.stripeCall &&
    c.get("auth").status === "active"
  );
}

/**
 * Report this isolate's lease of the caller's budget to the object now, so
 * what the object counts includes every request this isolate admitted:
 * `/api/usage` answers exactly for the caller's own requests, not a lease
 * lifetime behind. A failure is not the caller's: the report is kept for
 * the next call, and the counts read are then behind by the lease.
 */
export async function settleLeases(c: Context<AppEnv>): Promise<void> {
  if (!c.get("services").config.admissionLeases) return;
  const tenantId = c.get("auth").tenantId;
  await leases.settleNow(c.env.TENANT_DO.getByName(tenantId), tenantId);
}

/**
 * `DELETE /mcp` closed `sessionId` (all the tenant's sessions when null):
 * this isolate's leases stop serving it at once, so the client that closed
 * it sees 404 on its next request; other isolates within one lease lifetime.
 */
export function sessionsClosed(c: Context<AppEnv>, sessionId: string | null): void {
  leases.forgetSessions(c.get("auth").tenantId, sessionId);
}

/** Work that outlives the response: a lease's return at its expiry. */
function deferTo(c: Context<AppEnv>): Defer {
  return (work) => c.executionCtx.waitUntil(work());
}

function tenantOf(auth: AuthenticatedTenant): AdmitInput["tenant"] {
  return {
    id: auth.tenantId,
    plan: auth.plan,
    status: auth.status,
    rateLimitOverride: auth.rateLimitOverride,
    recordUpdatedAt: auth.recordUpdatedAt,
    graceEndsAt: auth.graceEndsAt,
  };
}

/**
 * Charge one tool call that the protocol layer accepted and is about to run
 * (the tool dispatch calls this, so a call the SDK refuses — bad headers,
 * arguments, Accept — is never charged, and one it runs is charged exactly
 * once whatever the request's headers said). Throws the refusal as an
 * `AppError` (quota spent, tenant suspended); the tool then does not run.
 * Fails closed like admission: an unreachable object means the call does
 * not run.
 */
export async function chargeToolCall(c: Context<AppEnv>, tool: string): Promise<void> {
  const tenant = tenantOf(c.get("auth"));
  let result: ChargeResult;
  try {
    const stub = c.env.TENANT_DO.getByName(tenant.id);
    result = c.get("services").config.admissionLeases
      ? await leases.charge(stub, tenant, deferTo(c))
      : await stub.chargeToolCall(tenant);
  } catch (error) {
    countObjectError("tenant", "charge");
    c.get("logger").error("admission unavailable", { tenant: tenant.id, ...describeError(error) });
    throw unavailable("admission temporarily unavailable: the tool did not run; retry shortly", { cause: error });
  }
  recordQuota(tenant.id, result.charged || result.reason === "quota_exceeded" ? result.quota : null);
  if (result.charged) {
    recordToolCall(tenant.id, tool);
    return;
  }
  logRefusal(c, tenant.id, result);
  throw admissionError(result, c.get("services").config.planLimits);
}

export type Admitted = Extract<AdmitResult, { admitted: true }>;

declare module "hono" {
  interface ContextVariableMap {
    /** The admission decision for this request: the plan, limits and warnings in force. */
    admission: Admitted;
  }
}

/**
 * Middleware for tenant `/api` routes: admit, or answer the refusal as an
 * HTTP error. `write`, `allowSuspended` and `stripeCall` are `AdmitInput`'s.
 */
export function admitted(
  options: Pick<AdmitRequest, "write" | "allowSuspended" | "stripeCall"> = {},
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const result = await admit(c, { kind: "api", ...options });
    if (!result.admitted) throw admissionError(result, c.get("services").config.planLimits);
    c.set("admission", result);
    await next();
  };
}

/**
 * Rate-limit headers in both the IETF form (`RateLimit-Policy` / `RateLimit`,
 * draft-ietf-httpapi-ratelimit-headers, reset as delta seconds) and the
 * widespread `X-RateLimit-*` form (reset as epoch seconds, as GitHub and most
 * client libraries read it). Tool-call quota the same way as `X-Quota-*`.
 */
function setAdmissionHeaders(c: Context<AppEnv>, result: AdmitResult): void {
  const rateLimit = result.admitted || result.reason === "rate_limited" ? result.rateLimit : null;
  const quota = result.admitted || result.reason === "quota_exceeded" ? result.quota : null;
  if (rateLimit) setRateLimitHeaders(c, rateLimit);
  if (quota?.limit != null) setQuotaHeaders(c, quota);
  if (result.admitted) {
    for (const warning of result.warnings) c.header("X-Muninn-Warning", warning, { append: true });
  }
}

function setRateLimitHeaders(c: Context<AppEnv>, rateLimit: RateLimitState): void {
  const nowSeconds = Math.floor(Date.now() / 1000);
  c.header("RateLimit-Policy", `"tenant";q=${rateLimit.limit};w=${rateLimit.windowSeconds}`);
  c.header("RateLimit", `"tenant";r=${rateLimit.remaining};t=${rateLimit.resetSeconds}`);
  c.header("X-RateLimit-Limit", String(rateLimit.limit));
  c.header("X-RateLimit-Remaining", String(rateLimit.remaining));
  c.header("X-RateLimit-Reset", String(nowSeconds + rateLimit.resetSeconds));
}

function setQuotaHeaders(c: Context<AppEnv>, quota: QuotaState): void {
  c.header("X-Quota-Limit", String(quota.limit));
  c.header("X-Quota-Remaining", String(Math.max(0, (quota.limit ?? 0) - quota.used)));
  c.header("X-Quota-Reset", String(Math.floor(Date.parse(quota.resetsAt) / 1000)));
}

/**
 * The one place admission outcomes become metrics and logs: the per-tenant
 * quota gauges, `rate_limited_total{plan}` / `quota_exceeded_total`, and the
 * log lines the runbook greps for ("Rate limit exceeded", "Plan quota
 * exceeded") with tenant and limit. The tenant's Durable Object also keeps
 * exact per-month refusal counts, flushed to the management `usage` table.
 */
function recordAdmission(c: Context<AppEnv>, result: AdmitResult): void {
  const tenant = c.get("auth").tenantId;
  recordQuota(tenant, result.admitted || result.reason === "quota_exceeded" ? result.quota : null);
  if (!result.admitted) logRefusal(c, tenant, result);
}

function recordQuota(tenant: string, quota: QuotaState | null): void {
  if (!quota) return;
  recorder.set("tenant_quota_used", { tenant }, quota.used);
  if (quota.limit !== null) recorder.set("tenant_quota_limit", { tenant }, quota.limit);
}

function logRefusal(c: Context<AppEnv>, tenant: string, refusal: AdmitRefusal): void {
  switch (refusal.reason) {
    case "rate_limited":
      recorder.inc("rate_limited_total", { plan: refusal.plan });
      c.get("logger").warn("Rate limit exceeded", {
        tenant,
        plan: refusal.plan,
        limit: refusal.rateLimit.limit,
        limitSource: refusal.rateLimit.source,
        windowSeconds: refusal.rateLimit.windowSeconds,
        retryAfterSeconds: refusal.retryAfterSeconds,
      });
      return;
    case "quota_exceeded":
      recorder.inc("quota_exceeded_total", { plan: refusal.plan });
      c.get("logger").warn("Plan quota exceeded", {
        tenant,
        plan: refusal.plan,
        limit: refusal.quota.limit,
        used: refusal.quota.used,
        resetsAt: refusal.quota.resetsAt,
      });
      return;
    case "stripe_calls_limited":
      c.get("logger").warn("Billing rate limit exceeded", {
        tenant,
        limit: refusal.limit,
        windowSeconds: refusal.windowSeconds,
        retryAfterSeconds: refusal.retryAfterSeconds,
      });
      return;
    case "suspended":
      c.get("logger").warn("tenant suspended: request refused", { tenant });
      return;
    case "migrating":
      c.get("logger").info("write refused while the tenant database is migrated", {
        tenant,
        migration: refusal.migrationId,
      });
      return;
    case "session_not_found":
      return;
  }
}

/** A refusal as an HTTP error: 429 with `Retry-After`, 403 for a suspended tenant, 404 for an unknown session. */
export function admissionError(refusal: AdmitRefusal, limits: PlanLimitTable): AppError {
  switch (refusal.reason) {
    case "rate_limited":
      return new AppError(
        "rate_limited",
        rateLimitMessage(refusal.rateLimit, refusal.plan, refusal.retryAfterSeconds),
        {
          code: "rate_limit_exceeded",
          headers: { "Retry-After": String(refusal.retryAfterSeconds) },
        },
      );
    case "quota_exceeded":
      return new AppError("rate_limited", quotaMessage(refusal.quota, refusal.plan, limits), {
        code: "quota_exceeded",
        headers: { "Retry-After": String(refusal.retryAfterSeconds) },
      });
    case "stripe_calls_limited":
      return new AppError(
        "rate_limited",
        `Billing rate limit exceeded: ${refusal.limit} checkout or billing portal sessions per ` +
          `${refusal.windowSeconds} s for one tenant. Retry after ${refusal.retryAfterSeconds} s.`,
        { code: "billing_rate_limit_exceeded", headers: { "Retry-After": String(refusal.retryAfterSeconds) } },
      );
    case "suspended":
      return new AppError(
        "forbidden",
        "Tenant suspended: this account's access is suspended. Contact support. " +
          "Billing stays open: GET /api/billing and POST /api/billing/portal.",
        { code: "tenant_suspended" },
      );
    case "session_not_found":
      return new AppError("not_found", "Session not found: initialize a new session.", { code: "session_not_found" });
    case "migrating":
      return tenantMigratingError(refusal.retryAfterSeconds);
  }
}

/**
 * A write while the tenant's memories are being moved to another database.
 * Nothing was written; reads keep working; the move takes seconds to minutes.
 */
export function tenantMigratingError(retryAfterSeconds = 30): AppError {
  return new AppError(
    "unavailable",
    "Tenant migrating: this tenant's memories are being moved to another database, so writes are paused " +
      `(reads keep working). Nothing was written; retry after ${retryAfterSeconds} s.`,
    { code: "tenant_migrating", headers: { "Retry-After": String(retryAfterSeconds) } },
  );
}

function rateLimitMessage(rateLimit: RateLimitState, plan: Plan, retryAfterSeconds: number): string {
  const source = rateLimit.source === "override" ? "this tenant's rate limit" : `the ${plan} plan's rate limit`;
  return (
    `Rate limit exceeded: ${rateLimit.limit} requests per ${rateLimit.windowSeconds} s (${source}). ` +
    `Retry after ${retryAfterSeconds} s.`
  );
}

function quotaMessage(quota: QuotaState, plan: Plan, limits: PlanLimitTable): string {
  const upgrade = upgradeFrom(plan);
  const more = upgrade ? limits[upgrade].toolCallsPerMonth : null;
  const hint = upgrade
    ? ` Upgrade to the ${upgrade} plan for ${more === null ? "unlimited" : more} tool calls per month.`
    : "";
  return (
    `Plan quota exceeded: ${quota.used} of ${quota.limit} tool calls used this month on the ${plan} plan; ` +
    `the quota resets at ${quota.resetsAt}.${hint}`
  );
}
