import type { MiddlewareHandler } from "hono";
import { createLogger } from "../../shared/logging";
import { getServices } from "../services";
import type { AppEnv } from "../types";

/**
 * Gives each request an id (Cloudflare's `cf-ray` when present, so logs join
 * with Cloudflare's own), a logger carrying it, and the isolate's services;
 * logs one line per request when it ends.
 */
export function requestContext(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const requestId = c.req.header("cf-ray") ?? crypto.randomUUID();
    const logger = createLogger({ requestId });
    c.set("requestId", requestId);
    c.set("logger", logger);
    c.set("services", getServices(c.env));
    const started = Date.now();
    await next();
    c.header("X-Request-Id", requestId);
    logger.info("request", {
      method: c.req.method,
      route: c.req.routePath,
      status: c.res.status,
      durationMs: Date.now() - started,
    });
  };
}
