/**
 * Plans and what they allow. A leaf module: it imports nothing, so anything
 * (configuration, tenants, the Durable Objects, routes) can depend on it.
 */
export const PLANS = ["free", "pro", "team"] as const;
export type Plan = (typeof PLANS)[number];

/** `deleted` tenants keep their row (billing, audit) but can do nothing. */
export const TENANT_STATUSES = ["active", "suspended", "deleted"] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

/** What a plan allows. `null` means unlimited. */
export interface PlanLimits {
  /** Requests admitted in any rolling window of `RATE_LIMIT_WINDOW_SECONDS`. */
  requestsPerMinute: number;
  /** Metered tool calls per calendar month (UTC). */
  toolCallsPerMonth: number | null;
  /** Concurrent legacy-era MCP sessions; the least recently used is evicted beyond it. */
  sessions: number;
  /** Members of the team (pending invitations count too); the operator may override per tenant. */
  seats: number;
}

export type PlanLimitTable = Record<Plan, PlanLimits>;

/** The rate-limit window. Plans are sold "per minute", so it is fixed rather than per plan. */
const RATE_LIMIT_WINDOW_SECONDS = 60;

/**
 * The limits every plan is sold with. This is the only place they are
 * written down; an environment can override any of them through
 * `PLAN_LIMITS` (see `readConfig`), and a single tenant through its
 * `rate_limit_override`.
 */
export const DEFAULT_PLAN_LIMITS: PlanLimitTable = {
  free: { requestsPerMinute: 60, toolCallsPerMonth: 10_000, sessions: 10, seats: 1 },
  pro: { requestsPerMinute: 300, toolCallsPerMonth: 100_000, sessions: 50, seats: 3 },
  team: { requestsPerMinute: 1000, toolCallsPerMonth: null, sessions: 200, seats: 25 },
};

/** Where a limit in force comes from, so an operator knows what to change. */
export type LimitSource = "plan" | "override";

export interface EffectiveRateLimit {
  limit: number;
  source: LimitSource;
  windowSeconds: number;
}

/** The request rate a tenant gets: its override when set, else its plan's. */
export function effectiveRateLimit(
  limits: PlanLimitTable,
  plan: Plan,
  rateLimitOverride: number | null,
): EffectiveRateLimit {
  return rateLimitOverride != null
    ? { limit: rateLimitOverride, source: "override", windowSeconds: RATE_LIMIT_WINDOW_SECONDS }
    : { limit: limits[plan].requestsPerMinute, source: "plan", windowSeconds: RATE_LIMIT_WINDOW_SECONDS };
}

/** The seats a tenant has: its operator override when set, else its plan's. */
export function effectiveSeats(
  limits: PlanLimitTable,
  plan: Plan,
  seatOverride: number | null,
): { seats: number; source: LimitSource } {
  return seatOverride != null
    ? { seats: seatOverride, source: "override" }
    : { seats: limits[plan].seats, source: "plan" };
}

/** The smallest plan with more than `seats` seats, or null when none has more. */
export function planWithMoreSeats(limits: PlanLimitTable, seats: number): Plan | null {
  return PLANS.find((candidate) => limits[candidate].seats > seats) ?? null;
}

/** The plan to suggest when a limit is hit, or null when there is nothing bigger. */
export function upgradeFrom(plan: Plan): Plan | null {
  if (plan === "free") return "pro";
  if (plan === "pro") return "team";
  return null;
}
