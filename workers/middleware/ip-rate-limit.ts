import type { Context, MiddlewareHandler } from "hono";
import type { TakeResult } from "../../durable-objects/tenant/rate-limit";
import { AppError } from "../../shared/errors";
import { describeError } from "../../shared/logging";
import { countObjectError } from "../ops/telemetry";
import type { AppEnv } from "../types";
import { addressBlock } from "./address-block";

const WINDOW_SECONDS = 60;

/**
 * The address Cloudflare saw the request come from. `CF-Connecting-IP` is set
 * by Cloudflare's edge and cannot be forged by the client; `X-Forwarded-For`
 * can, so it is never trusted. Without the header (local development, tests)
 * every request shares one bucket. Under `wrangler dev` (the local stack)
 * nothing sets it, so it is whatever the client sent: locally the limits are
 * not a defence, only a behaviour to test.
 */
export function clientIp(c: Context<AppEnv>): string | null {
  return c.req.header("cf-connecting-ip") ?? null;
}

/** The block a per-IP budget is kept for: the address for IPv4, its /64 for IPv6 (see `addressBlock`). */
function clientBlock(c: Context<AppEnv>): string | null {
  const ip = clientIp(c);
  return ip === null ? null : addressBlock(ip);
}

/**
 * Spend one unit of the calling address's budget in `group` (a Durable
 * Object per (group, IP), so the limit is exact across isolates) and set the
 * `RateLimit` headers. Null when the limiter cannot be reached: callers let
 * the request through (see `ipRateLimit`).
 */
export async function spendIpBudget(c: Context<AppEnv>, group: string, limit: number): Promise<TakeResult | null> {
  const block = clientBlock(c) ?? "unknown";
  let result: TakeResult;
  try {
    result = await c.env.IP_LIMITER_DO.getByName(`${group}:${block}`).take(limit, WINDOW_SECONDS);
  } catch (error) {
    countObjectError("ip_limiter", "take");
    c.get("logger").error("IP rate limiter unavailable; request allowed", { group, ...describeError(error) });
    return null;
  }
  c.header("RateLimit-Policy", `"ip";q=${limit};w=${WINDOW_SECONDS}`);
  c.header("RateLimit", `"ip";r=${result.state.remaining};t=${result.state.resetSeconds}`);
  if (!result.allowed) {
    c.get("logger").warn("Rate limit exceeded", { limitedBy: "ip", group, ip: clientIp(c), block, limit });
  }
  return result;
}

function ipRateLimited(limit: number, retryAfterSeconds: number): AppError {
  return new AppError("rate_limited", `Rate limit exceeded: ${limit} requests per minute from one address.`, {
    code: "rate_limit_exceeded",
    headers: { "Retry-After": String(retryAfterSeconds) },
  });
}

/**
 * Per-client-IP limit for unauthenticated endpoints (signup, login, OAuth
 * token and registration; not webhooks, which are verified by signature and
 * come from a few shared addresses). `group` names the set of endpoints that
 * share a budget. Refusals are 429 with `Retry-After`.
 *
 * If the limiter cannot be reached the request goes through: these endpoints
 * have their own defences (password hashing, PKCE, single-use codes), and
 * refusing every signup because a counter is unreachable would be worse.
 */
export function ipRateLimit(group: string, limitPerMinute?: number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const limit = limitPerMinute ?? c.get("services").config.ipRateLimitPerMinute;
    const result = await spendIpBudget(c, group, limit);
    if (result && !result.allowed) throw ipRateLimited(limit, result.retryAfterSeconds);
    await next();
  };
}

/**
 * A budget of failed attempts per address (bad API keys; failed logins can
 * share it): each failure spends a unit; once the budget is spent the
 * address is refused with 429 until its window frees up, and this isolate
 * remembers that, so further attempts cost neither a database query nor a
 * limiter call. Successful attempts spend nothing, so a client that
 * authenticates is never slowed by its own traffic.
 */
export class FailedAttemptLimit {
  /** Address block (see `addressBlock`) → when this isolate may ask again; bounded, oldest dropped first. */
  readonly #blockedUntil = new Map<string, number>();

  constructor(
    readonly group: string,
    readonly maxEntries = 10_000,
  ) {}

  /** The refusal to answer if the calling address is known to be over its budget, else null. */
  blocked(c: Context<AppEnv>, now = Date.now()): AppError | null {
    const block = clientBlock(c);
    const until = block === null ? undefined : this.#blockedUntil.get(block);
    if (until === undefined) return null;
    if (until <= now) {
      this.#blockedUntil.delete(block as string);
      return null;
    }
    return ipRateLimited(c.get("services").config.ipRateLimitPerMinute, Math.ceil((until - now) / 1000));
  }

  /**
   * Count one failure. Returns the 429 to answer instead of the failure's own
   * error once the budget is spent, else null. Requests without a client
   * address (never the case behind Cloudflare) are not counted: they would
   * all share one budget.
   */
  async failed(c: Context<AppEnv>): Promise<AppError | null> {
    const block = clientBlock(c);
    if (block === null) return null;
    const limit = c.get("services").config.ipRateLimitPerMinute;
    const result = await spendIpBudget(c, this.group, limit);
    if (!result || result.allowed) return null;
    this.#blockedUntil.delete(block);
    this.#blockedUntil.set(block, Date.now() + result.retryAfterSeconds * 1000);
    if (this.#blockedUntil.size > this.maxEntries) {
      const oldest = this.#blockedUntil.keys().next().value;
      if (oldest !== undefined) this.#blockedUntil.delete(oldest);
    }
    return ipRateLimited(limit, result.retryAfterSeconds);
  }
}
