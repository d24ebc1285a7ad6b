import type { MiddlewareHandler } from "hono";
import type { Config } from "../../shared/config";
import { AppError } from "../../shared/errors";
import type { MissingScopeError } from "../../shared/memory/access";
import { hasScope, type Scope } from "../../shared/tenants/scopes";
import type { AppEnv } from "../types";
import { resourceMetadataUrl } from "./oauth-server";

/**
 * 403 for a valid credential that lacks a scope (RFC 6750 §3.1, MCP's scope
 * challenge): `WWW-Authenticate` names the scope to ask for and the
 * resource's metadata, so an OAuth client can step up in one round trip.
 */
export function insufficientScope(config: Config, scope: Scope, message: string): AppError {
  return new AppError("forbidden", message, {
    code: "insufficient_scope",
    headers: {
      "WWW-Authenticate": `Bearer error="insufficient_scope", scope="${scope}", resource_metadata="${resourceMetadataUrl(config)}"`,
    },
  });
}

/** A memory door's scope refusal as HTTP answers it: the same 403 and challenge as `insufficientScope`. */
export function scopeChallenge(config: Config, refusal: MissingScopeError): AppError {
  return insufficientScope(config, refusal.scope, refusal.message);
}

/**
 * Let the request through only if its credential (API key or OAuth token,
 * after `authenticate()`) carries `scope`, counting broader scopes that imply it.
 */
export function requireScope(scope: Scope): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!hasScope(c.get("auth").scopes, scope)) {
      throw insufficientScope(
        c.get("services").config,
        scope,
        `this credential lacks the ${scope} scope; use an API key or sign-in that carries it`,
      );
    }
    await next();
  };
}
