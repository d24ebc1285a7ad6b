import type { Context, MiddlewareHandler } from "hono";
import type { Account } from "../../shared/accounts/accounts";
import type { ConsoleSession } from "../../shared/accounts/sessions";
import type { AppEnv } from "../types";

/** Who is signed in to the console on this request. */
export interface SignedIn {
  account: Account;
  session: ConsoleSession;
}

/** The console's Hono environment: the app's, plus the signed-in person (null when nobody is). */
export interface ConsoleEnv {
  Bindings: AppEnv["Bindings"];
  Variables: AppEnv["Variables"] & { signedIn: SignedIn | null; csrf: string };
}

export type ConsoleContext = Context<ConsoleEnv>;
export type ConsoleMiddleware = MiddlewareHandler<ConsoleEnv>;

/** The signed-in person; only after `requireSignIn`, which guarantees one. */
export function signedIn(c: ConsoleContext): SignedIn {
  const value = c.get("signedIn");
  if (!value) throw new Error("signedIn() used on a route without requireSignIn()");
  return value;
}

/**
 * The same context seen as the app's, for shared helpers typed on `AppEnv`
 * (limiters, client address). The console's variables only add to the app's.
 */
export function asApp(c: ConsoleContext): Context<AppEnv> {
  return c as unknown as Context<AppEnv>;
}
