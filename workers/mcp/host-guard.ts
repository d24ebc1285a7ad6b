import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../types";
import { JSON_RPC, jsonRpcError } from "./json-rpc-errors";

/**
 * DNS-rebinding protection for `/mcp`: a web page on an attacker's domain
 * that resolves to a local server (or a victim's network) carries the
 * attacker's Host and Origin. The Host must be one this deployment serves
 * (port-agnostic, so local stacks on any port work), and a browser's Origin
 * must be one of the configured origins or the API's own.
 */
export function hostGuard(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { allowedOrigins, mcp } = c.get("services").config;
    const url = new URL(c.req.url);
    const host = (c.req.header("host") ?? url.host).toLowerCase();
    let hostname: string;
    try {
      hostname = new URL(`http://${host}`).hostname;
    } catch {
      return jsonRpcError(403, JSON_RPC.serverError, `Invalid Host header: ${host}`);
    }
    if (!mcp.allowedHosts.includes(hostname)) {
      c.get("logger").warn("mcp request refused: host not allowed", { host });
      return jsonRpcError(403, JSON_RPC.serverError, `Invalid Host: ${hostname}`);
    }
    const origin = c.req.header("origin");
    if (origin) {
      let originHost: string | null = null;
      try {
        originHost = new URL(origin).host.toLowerCase();
      } catch {
        originHost = null;
      }
      if (originHost !== host && !allowedOrigins.includes(origin)) {
        c.get("logger").warn("mcp request refused: origin not allowed", { origin });
        return jsonRpcError(403, JSON_RPC.serverError, `Invalid Origin: ${origin}`);
      }
    }
    await next();
  };
}
