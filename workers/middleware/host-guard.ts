import type { Context, MiddlewareHandler } from "hono";
import { AppError } from "../../shared/errors";
import type { AppEnv } from "../types";

/**
 * Why a request fails the DNS-rebinding check, or null when it passes.
 *
 * A web page on an attacker's domain that resolves to a local server (or to
 * a host on the victim's network) carries the attacker's Host and Origin.
 * The Host must be one this deployment serves (`ALLOWED_HOSTS`;
 * port-agnostic, so local stacks on any port work), and a browser's Origin
 * must be one of the configured origins or the API's own.
 */
export function hostRefusal(c: Context<AppEnv>): string | null {
  const { allowedOrigins, mcp } = c.get("services").config;
  const host = (c.req.header("host") ?? new URL(c.req.url).host).toLowerCase();
  let hostname: string;
  try {
    hostname = new URL(`http://${host}`).hostname;
  } catch {
    return `Invalid Host header: ${host}`;
  }
  if (!mcp.allowedHosts.includes(hostname)) return `Invalid Host: ${hostname}`;
  const origin = c.req.header("origin");
  if (origin) {
    let originHost: string | null = null;
    try {
      originHost = new URL(origin).host.toLowerCase();
    } catch {
      originHost = null;
    }
    if (originHost !== host && !allowedOrigins.includes(origin)) return `Invalid Origin: ${origin}`;
  }
  return null;
}

/**
 * The DNS-rebinding check for the HTTP API and `/metrics`, answered 403 in
 * the API's error shape. Without it, a page the operator visits could have
 * its browser read the local stack's `/metrics` (no token in development)
 * or drive `/api` with whatever credential the page can guess or the
 * browser holds. `/mcp` applies the same check with a JSON-RPC answer.
 */
export function hostGuard(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const refusal = hostRefusal(c);
    if (refusal) {
      c.get("logger").warn("request refused: host or origin not allowed", {
        host: c.req.header("host"),
        origin: c.req.header("origin"),
      });
      throw new AppError("forbidden", refusal, { code: "host_not_allowed" });
    }
    await next();
  };
}
