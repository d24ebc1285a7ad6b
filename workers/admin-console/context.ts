import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../types";

/** A signed-in operator: the name they gave (for the audit log) and when the session ends. */
export interface Operator {
  name: string;
  /** Random per session; the CSRF token is bound to it. */
  nonce: string;
  expiresAt: number;
}

/** The admin console's Hono environment: the app's, plus the operator (null before sign-in) and the forms' CSRF token. */
export interface AdminEnv {
  Bindings: AppEnv["Bindings"];
  Variables: AppEnv["Variables"] & { operator: Operator | null; csrf: string };
}

export type AdminPageContext = Context<AdminEnv>;
export type AdminMiddleware = MiddlewareHandler<AdminEnv>;

/** The same context seen as the app's, for the operations shared with the admin API (typed on `AppEnv`). */
export function asApp(c: AdminPageContext): Context<AppEnv> {
  return c as unknown as Context<AppEnv>;
}

/** The signed-in operator; only behind `requireOperator`, which guarantees one. */
export function operator(c: AdminPageContext): Operator {
  const value = c.get("operator");
  if (!value) throw new Error("operator() used on a route without requireOperator()");
  return value;
}
