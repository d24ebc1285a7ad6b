import type { Context, MiddlewareHandler } from "hono";
import type { TakeResult } from "../../durable-objects/tenant/rate-limit";
import { AppError } from "../../shared/errors";
import { describeError } from "../../shared/logging";
import type { AppEnv } from "../types";

const WINDOW_SECONDS = 60;

/**
 * The address Cloudflare saw the request come from. `CF-Connecting-IP` is set
 * by Cloudflare's edge and cannot be forged by the client; `X-Forwarded-For`
 * can, so it is never trusted. Without the header (local development, tests)
 * every request shares one bucket.
 */
export function clientIp(c: Context<AppEnv>): string | null {
  return c.req.header("cf-connecting-ip") ?? null;
}

/**
 * Per-client-IP limit for unauthenticated endpoints (signup, login, OAuth
 * token and registration; not webhooks, which are verified by signature and
 * come from a few shared addresses). `group` names the set of endpoints that
 * share a budget. Counts live in a Durable Object per (group, IP), so the
 * limit is exact across isolates, and refusals are 429 with `Retry-After`.
 *
 * If the limiter cannot be reached the request goes through: these endpoints
 * have their own defences (password hashing, PKCE, single-use codes), and
 * refusing every signup because a counter is unreachable would be worse.
 */
export function ipRateLimit(group: string, limitPerMinute?: number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const limit = limitPerMinute ?? c.var.services.config.ipRateLimitPerMinute;
    const ip = clientIp(c) ?? "unknown";
    let result: TakeResult | null = null;
    try {
      result = await c.env.IP_LIMITER_DO.getByName(`${group}:${ip}`).take(limit, WINDOW_SECONDS);
    } catch (error) {
      c.var.logger.error("IP rate limiter unavailable; request allowed", { group, ...describeError(error) });
    }
    if (result) {
      c.header("RateLimit-Policy", `"ip";q=${limit};w=${WINDOW_SECONDS}`);
      c.header("RateLimit", `"ip";r=${result.state.remaining};t=${result.state.resetSeconds}`);
      if (!result.allowed) {
        c.var.logger.warn("Rate limit exceeded", { limitedBy: "ip", group, ip, limit });
        throw new AppError("rate_limited", `Rate limit exceeded: ${limit} requests per minute from one address.`, {
          code: "rate_limit_exceeded",
          headers: { "Retry-After": String(result.retryAfterSeconds) },
        });
      }
    }
    await next();
  };
}
