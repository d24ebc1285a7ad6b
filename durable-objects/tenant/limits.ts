import { effectiveRateLimit, type Plan, type PlanLimitTable } from "../../shared/plans";
import {
  type AdmitResult,
  type ChargeResult,
  type DatabaseState,
  LEASE_LIFETIME_MS,
  type LeaseInput,
  type LeaseResult,
  type LeaseSettlement,
  leaseSize,
  perLifetime,
  type RateLimitState,
  type RateLimitStatus,
  type ReserveResult,
  type TenantSettings,
  type UsageStatus,
} from "./contract";
import { LeaseLedger } from "./leases";
import { UsageMeter } from "./quota";
import { SlidingWindowLimiter } from "./rate-limit";
import { warnings } from "./warnings";

/** The window of the per-tenant cap on requests that call Stripe. */
const STRIPE_WINDOW_MS = 60_000;

/**
 * The limit part of admission: the request rate (sliding window) and the
 * monthly tool-call quota, both decided from the settings in force at the
 * moment of the request, so a changed plan or override applies to the very
 * next request. Everything here is synchronous, so the Durable Object's
 * one-event-at-a-time execution makes check-and-count atomic.
 */
export class TenantLimits {
  readonly #limits: PlanLimitTable;
  readonly #window: SlidingWindowLimiter;
  readonly #stripeWindow: SlidingWindowLimiter;
  readonly #stripeCallsPerMinute: number;
  readonly #meter: UsageMeter;
  readonly #leases: LeaseLedger;

  constructor(sql: SqlStorage, limits: PlanLimitTable, stripeCallsPerMinute: number) {
    this.#limits = limits;
    this.#window = new SlidingWindowLimiter(sql);
    this.#stripeWindow = new SlidingWindowLimiter(sql, "stripe_call_slots");
    this.#stripeCallsPerMinute = stripeCallsPerMinute;
    this.#meter = new UsageMeter(sql);
    this.#leases = new LeaseLedger(sql);
  }

  get leases(): LeaseLedger {
    return this.#leases;
  }

  /**
   * End leases an isolate reports on: what it used goes into the usage
   * counters, the rest back into the window (the quota's share was never
   * counted). Refusals it answered on its own are counted too.
   */
  settle(settlements: LeaseSettlement[], refused: LeaseInput["refused"], now: number): void {
    let requests = 0;
    let toolCalls = 0;
    for (const settlement of settlements) {
      const row = this.#leases.remove(settlement);
      // Unknown: already reconciled at expiry (counted in full) or never granted here; nothing to give back.
      if (!row) continue;
      const usedRequests = clamp(settlement.requests, row.requests);
      this.#window.giveBack(row.slot, row.requests - usedRequests);
      requests += usedRequests;
      toolCalls += clamp(settlement.toolCalls, row.tool_calls);
    }
    this.#meter.add(
      {
        requests,
        tool_calls: toolCalls,
        rate_limited: refused?.rateLimited ?? 0,
        quota_exceeded: refused?.quotaExceeded ?? 0,
      },
      now,
    );
  }

  /** Reconcile leases whose isolate never settled them: used in full (see `LeaseLedger`). */
  expireLeases(now: number): number {
    const expired = this.#leases.expired(now);
    let requests = 0;
    let toolCalls = 0;
    for (const row of expired) {
      requests += row.requests;
      toolCalls += row.tool_calls;
    }
    this.#meter.add({ requests, tool_calls: toolCalls }, now);
    return expired.length;
  }

  /**
   * Grant a lease out of what the window and the quota have left after
   * everything admitted and everything already leased, so the tenant is
   * never admitted more than its limit, however many isolates hold leases.
   */
  lease(
    settings: TenantSettings,
    want: Pick<LeaseInput, "requests" | "toolCalls" | "ahead">,
    version: number,
    database: DatabaseState,
    now: number,
  ): LeaseResult {
    const { plan } = settings;
    const rate = effectiveRateLimit(this.#limits, plan, settings.rateLimitOverride);
    const windowMs = rate.windowSeconds * 1000;
    const expiresAt = now + LEASE_LIFETIME_MS;
    const cap = perLifetime(rate.limit, windowMs);
    const taken = want.requests
      ? this.#window.takeUpTo(rate.limit, windowMs, now, (remaining) => leaseSize(remaining, cap), expiresAt)
      : { taken: 0, slot: Math.floor(expiresAt / 1000), state: this.#window.peek(rate.limit, windowMs, now) };
    const rateLimit: RateLimitState = { ...taken.state, source: rate.source };
    if (want.requests && taken.taken === 0) {
      if (!want.ahead) this.#meter.count(["rate_limited"], now);
      const { retryAfterSeconds, state } = this.#window.refusal(rate.limit, windowMs, now);
      return {
        granted: false,
        refusal: { reason: "rate_limited", retryAfterSeconds, rateLimit: { ...state, source: rate.source }, plan },
      };
    }
    const quotaLimit = this.#limits[plan].toolCallsPerMonth;
    let toolCalls = 0;
    if (want.toolCalls) {
      // An unlimited quota is only counted, so its leases are as large as the rate's; a limited one keeps to 10.
      toolCalls =
        quotaLimit === null ? leaseSize(Number.POSITIVE_INFINITY, cap) : leaseSize(quotaLimit - this.#quotaUsed(now));
      // Ahead of need, no tools/call waits on it: the isolate refuses (and reports) one if it comes.
      if (toolCalls === 0 && !want.ahead) {
        // The tools/call this lease was asked for is refused (by the isolate when it holds request units).
        const refusal = this.#quotaRefusal(plan, quotaLimit, now);
        if (!want.requests) return { granted: false, refusal };
      }
    }
    const id = crypto.randomUUID();
    this.#leases.record({ id, expires_at: expiresAt, slot: taken.slot, requests: taken.taken, tool_calls: toolCalls });
    return {
      granted: true,
      lease: {
        id,
        lifetimeMs: LEASE_LIFETIME_MS,
        requests: taken.taken,
        toolCalls,
        version,
        plan,
        rateLimit,
        quota: this.#meter.quota(quotaLimit, now),
        graceEndsAt: settings.graceEndsAt ?? null,
        database,
        sessions: [],
      },
    };
  }

  /** Tool calls counted this month plus those held by outstanding leases. */
  #quotaUsed(now: number): number {
    return this.#meter.current(now).toolCalls + this.#leases.outstandingToolCalls();
  }

  #exhausted(limit: number | null, now: number): boolean {
    return limit !== null && this.#quotaUsed(now) >= limit;
  }

  get meter(): UsageMeter {
    return this.#meter;
  }

  /**
   * Count one request against the rate limit; a tool call is refused while
   * the monthly quota is spent, but not charged here (see `charge`). A
   * request refused by the quota has still passed the rate limiter and spent
   * a unit of it, so hammering a tenant's exhausted quota is throttled like
   * any other traffic.
   */
  admit(settings: TenantSettings, request: { toolCall: boolean; stripeCall: boolean }, now: number): AdmitResult {
    const { plan } = settings;
    const rate = effectiveRateLimit(this.#limits, plan, settings.rateLimitOverride);
    // A Stripe call needs room in both windows. The Stripe window is taken only
    // if the request window has room, and the request window is taken only if
    // the Stripe one did: a refused request spends neither.
    if (request.stripeCall && this.#window.peek(rate.limit, rate.windowSeconds * 1000, now).remaining > 0) {
      const stripe = this.#stripeWindow.take(this.#stripeCallsPerMinute, STRIPE_WINDOW_MS, now);
      if (!stripe.allowed) {
        this.#meter.count(["rate_limited"], now);
        return {
          admitted: false,
          reason: "stripe_calls_limited",
          retryAfterSeconds: stripe.retryAfterSeconds,
          limit: this.#stripeCallsPerMinute,
          windowSeconds: STRIPE_WINDOW_MS / 1000,
        };
      }
    }
    const taken = this.#window.take(rate.limit, rate.windowSeconds * 1000, now);
    const rateLimit: RateLimitState = { ...taken.state, source: rate.source };
    if (!taken.allowed) {
      this.#meter.count(["rate_limited"], now);
      return { admitted: false, reason: "rate_limited", retryAfterSeconds: taken.retryAfterSeconds, rateLimit, plan };
    }

    const quotaLimit = this.#limits[plan].toolCallsPerMonth;
    if (request.toolCall && this.#exhausted(quotaLimit, now)) {
      return { admitted: false, ...this.#quotaRefusal(plan, quotaLimit, now) };
    }

    this.#meter.count(["requests"], now);
    const quota = this.#meter.quota(quotaLimit, now);
    return { admitted: true, plan, rateLimit, quota, warnings: warnings(settings, rateLimit, quota, now) };
  }

  /**
   * Charge one tool call that is about to run. Check and count are one
   * synchronous step, so concurrent calls at the edge of the quota cannot
   * both take its last unit.
   */
  charge(settings: TenantSettings, now: number): ChargeResult {
    const quotaLimit = this.#limits[settings.plan].toolCallsPerMonth;
    if (this.#exhausted(quotaLimit, now)) {
      return { charged: false, ...this.#quotaRefusal(settings.plan, quotaLimit, now) };
    }
    this.#meter.count(["tool_calls"], now);
    return { charged: true, quota: this.#meter.quota(quotaLimit, now) };
  }

  #quotaRefusal(plan: Plan, quotaLimit: number | null, now: number) {
    this.#meter.count(["quota_exceeded"], now);
    const quota = this.#meter.quota(quotaLimit, now);
    const retryAfterSeconds = Math.max(1, Math.ceil((Date.parse(quota.resetsAt) - now) / 1000));
    return { reason: "quota_exceeded", retryAfterSeconds, quota, plan } as const;
  }

  /**
   * Count up to `count` tool calls at once — a door's writes, one per record
   * created — as many as the month's quota still has; answers how many were
   * granted and the quota as it then stands. Fewer than asked counts one
   * quota refusal. Check and count are one synchronous step, like `charge`.
   */
  reserve(settings: TenantSettings, count: number, now: number): ReserveResult {
    const limit = this.#limits[settings.plan].toolCallsPerMonth;
    const granted = limit === null ? count : Math.max(0, Math.min(count, limit - this.#quotaUsed(now)));
    if (granted > 0) this.#meter.addToolCalls(granted, now);
    if (granted < count) this.#meter.count(["quota_exceeded"], now);
    return { granted, quota: this.#meter.quota(limit, now) };
  }

  /** Give back tool calls reserved but not used. */
  release(count: number, now: number): void {
    this.#meter.addToolCalls(-count, now);
  }

  /** The rate limit as it stands, without counting a request. */
  rateLimit(settings: TenantSettings, now: number): RateLimitStatus {
    const rate = effectiveRateLimit(this.#limits, settings.plan, settings.rateLimitOverride);
    const state = this.#window.peek(rate.limit, rate.windowSeconds * 1000, now);
    const resetAt = new Date(now + state.resetSeconds * 1000).toISOString();
    return { plan: settings.plan, ...state, source: rate.source, resetAt };
  }

  usage(settings: TenantSettings, now: number): UsageStatus {
    return {
      usage: this.#meter.current(now),
      quota: this.#meter.quota(this.#limits[settings.plan].toolCallsPerMonth, now),
    };
  }
}

/** What an isolate reports, within what was granted: a report cannot add units or take back more than given. */
function clamp(used: number, granted: number): number {
  return Number.isFinite(used) ? Math.min(granted, Math.max(0, Math.floor(used))) : granted;
}
