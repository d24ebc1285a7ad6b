import { effectiveRateLimit, type Plan, type PlanLimitTable, upgradeFrom } from "../../shared/plans";
import type {
  AdmitResult,
  ChargeResult,
  QuotaState,
  RateLimitState,
  RateLimitStatus,
  ReserveResult,
  TenantSettings,
  UsageStatus,
} from "./contract";
import { UsageMeter } from "./quota";
import { SlidingWindowLimiter } from "./rate-limit";

/** From this share of a limit on, admitted responses carry a warning. */
export const WARNING_THRESHOLD = 0.9;

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

  constructor(sql: SqlStorage, limits: PlanLimitTable, stripeCallsPerMinute: number) {
    this.#limits = limits;
    this.#window = new SlidingWindowLimiter(sql);
    this.#stripeWindow = new SlidingWindowLimiter(sql, "stripe_call_slots");
    this.#stripeCallsPerMinute = stripeCallsPerMinute;
    this.#meter = new UsageMeter(sql);
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
    if (request.toolCall && this.#meter.exhausted(quotaLimit, now)) {
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
    if (this.#meter.exhausted(quotaLimit, now)) {
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
    const before = this.#meter.quota(limit, now);
    const granted = limit === null ? count : Math.max(0, Math.min(count, limit - before.used));
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

function warnings(settings: TenantSettings, rateLimit: RateLimitState, quota: QuotaState, now: number): string[] {
  const out: string[] = [];
  if (settings.graceEndsAt && Date.parse(settings.graceEndsAt) > now) {
    out.push(
      `Payment failing: the ${settings.plan} plan stays in force until ${settings.graceEndsAt}, then the tenant ` +
        "returns to the free plan. Update the payment method (POST /api/billing/portal).",
    );
  }
  if (rateLimit.used >= rateLimit.limit * WARNING_THRESHOLD) {
    out.push(
      `Rate limit nearly reached: ${rateLimit.used} of ${rateLimit.limit} requests used in the last ` +
        `${rateLimit.windowSeconds} s; further requests are refused with 429 until the window frees up.`,
    );
  }
  if (quota.limit !== null && quota.used >= quota.limit * WARNING_THRESHOLD) {
    const upgrade = upgradeFrom(settings.plan);
    out.push(
      `Plan quota nearly reached: ${quota.used} of ${quota.limit} tool calls used this month on the ${settings.plan} plan; ` +
        `resets ${quota.resetsAt}.${upgrade ? ` Upgrade to ${upgrade} for more.` : ""}`,
    );
  }
  return out;
}
