import type { MiddlewareHandler } from "hono";
import { AppError } from "../../shared/errors";
import type { AppEnv } from "../types";

/**
 * Refuse a tenant credential that lacks `scope` (403). Runs after
 * `authenticate()`. The owner's account-management routes (billing) need
 * `keys:manage`, the scope an owner's own key carries, so an MCP-only key
 * handed to an agent cannot start or change a subscription.
 *
 * This is the one place billing checks scopes: when account-wide scope
 * enforcement and OAuth sessions land, swap this for that middleware.
 */
export function requireScope(scope: string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!c.var.auth.scopes.includes(scope)) {
      throw new AppError("forbidden", `this credential lacks the ${scope} scope; use the account owner's key`, {
        code: "insufficient_scope",
      });
    }
    await next();
  };
}
