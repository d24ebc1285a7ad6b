import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { AppError } from "../../shared/errors";
import type { AppEnv } from "../types";

/** What every request body may weigh unless its route is listed: the API's JSON, signup, OAuth forms. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

/**
 * Read at most `maxBytes` of the body, while it streams and before anything
 * parses it (Hono's `bodyLimit`): a `Content-Length` over the limit is
 * refused without reading a byte; a chunked body is counted as it arrives
 * and refused at the first chunk past the limit. Either way the answer is
 * 413 in the API's error shape, and nothing downstream ran.
 */
export function limitBody(maxBytes: number): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new AppError("payload_too_large", `Payload Too Large: the body must not exceed ${maxBytes} bytes`, {
        code: "payload_too_large",
      });
    },
  });
}

/**
 * A route's own limit: a number, or `"route"` when the route limits its body
 * itself, after authentication (so an anonymous caller cannot make the
 * Worker buffer a large body the route would refuse anyway).
 */
export type BodyLimitRule = [path: string | RegExp, limit: number | "route"];

/**
 * The body limit of every route, in one middleware at the front of the app:
 * the first rule whose path matches decides; any other path gets
 * `DEFAULT_MAX_BODY_BYTES`. Bodyless requests pass untouched.
 */
export function bodyLimits(rules: BodyLimitRule[]): MiddlewareHandler<AppEnv> {
  const fallback = limitBody(DEFAULT_MAX_BODY_BYTES);
  const limits = rules.map(([path, limit]) => [path, limit === "route" ? null : limitBody(limit)] as const);
  return async (c, next) => {
    const path = c.req.path;
    const rule = limits.find(([pattern]) => (typeof pattern === "string" ? pattern === path : pattern.test(path)));
    if (!rule) return fallback(c, next);
    const [, limiter] = rule;
    return limiter ? limiter(c, next) : next();
  };
}
