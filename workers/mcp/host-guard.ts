import type { MiddlewareHandler } from "hono";
import { hostRefusal } from "../middleware/host-guard";
import type { AppEnv } from "../types";
import { JSON_RPC, jsonRpcError } from "./json-rpc-errors";

/** DNS-rebinding protection for `/mcp` (see `hostRefusal`), answered as a JSON-RPC error. */
export function hostGuard(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const refusal = hostRefusal(c);
    if (refusal) {
      c.get("logger").warn("mcp request refused: host or origin not allowed", {
        host: c.req.header("host"),
        origin: c.req.header("origin"),
      });
      return jsonRpcError(403, JSON_RPC.serverError, refusal);
    }
    await next();
  };
}
