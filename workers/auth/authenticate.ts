import type { MiddlewareHandler } from "hono";
import { sha256Hex } from "../../shared/crypto/encoding";
import type { DatabaseCoordinates } from "../../shared/db/client";
import { AppError } from "../../shared/errors";
import { describeError } from "../../shared/logging";
import { touchApiKey } from "../../shared/tenants/api-keys";
import { resolveCredential } from "../../shared/tenants/credentials";
import type { Plan, TenantStatus } from "../../shared/tenants/tenants";
import type { AppEnv } from "../types";
import { CredentialCache } from "./credential-cache";

/** Who is calling, resolved from the credential. */
export interface AuthenticatedTenant {
  tenantId: string;
  keyId: string;
  scopes: string[];
  plan: Plan;
  status: TenantStatus;
  rateLimitOverride: number | null;
  db: DatabaseCoordinates;
  /** Generation of the database pointer `db` was read from (moves when the tenant is migrated). */
  dbGeneration: number;
}

declare module "hono" {
  interface ContextVariableMap {
    auth: AuthenticatedTenant;
  }
}

const FRESH_MS = 60_000;
const STALE_MS = 15 * 60_000;
const cache = new CredentialCache<AuthenticatedTenant>(FRESH_MS, STALE_MS);

function bearer(header: string | undefined): string | null {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match?.[1] ?? null;
}

function unauthorized(c: Parameters<MiddlewareHandler<AppEnv>>[0], message: string): AppError {
  const metadata = new URL("/.well-known/oauth-protected-resource", c.req.url).toString();
  return new AppError("unauthorized", message, {
    headers: { "WWW-Authenticate": `Bearer realm="muninn", resource_metadata="${metadata}"` },
  });
}

/**
 * Resolve `Authorization: Bearer mk_…` to a tenant. Missing or wrong
 * credentials are 401 with `WWW-Authenticate`; a management DB that cannot be
 * reached is 503 "database unavailable" — never a misleading 401 — unless the
 * credential was verified recently enough to be served from the cache.
 */
export function authenticate(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const key = bearer(c.req.header("authorization"));
    if (!key) throw unauthorized(c, "missing bearer token");
    const cacheKey = await sha256Hex(key);

    let auth = cache.fresh(cacheKey);
    if (!auth) {
      try {
        auth = await resolve(c, key);
        cache.set(cacheKey, auth);
      } catch (error) {
        if (error instanceof AppError) throw error;
        // Served as last verified, and not re-cached: the stale window runs
        // from the last real verification, however long the outage lasts.
        auth = cache.stale(cacheKey);
        if (!auth) {
          c.var.logger.error("Cannot connect to management database", describeError(error));
          throw new AppError("unavailable", "database unavailable", { headers: { "Retry-After": "5" }, cause: error });
        }
        c.var.logger.warn("serving cached credential while the management database is unreachable", {
          tenant: auth.tenantId,
        });
      }
    }
    c.set("auth", auth);
    await next();
  };
}

/**
 * Resolve the request's credential again, past the cache: admission found
 * that the tenant's database moved since it was cached. This costs one
 * management-DB round trip, once per isolate and migration.
 */
export async function refreshCredential(c: Parameters<MiddlewareHandler<AppEnv>>[0]): Promise<void> {
  const key = bearer(c.req.header("authorization"));
  if (!key) return;
  const auth = await resolve(c, key);
  cache.set(await sha256Hex(key), auth);
  c.set("auth", auth);
}

async function resolve(c: Parameters<MiddlewareHandler<AppEnv>>[0], key: string): Promise<AuthenticatedTenant> {
  const { mgmtDb, config } = c.var.services;
  const credential = await resolveCredential(mgmtDb, config, key);
  if (!credential) throw unauthorized(c, "invalid API key");
  c.executionCtx.waitUntil(
    touchApiKey(mgmtDb, credential.keyId).catch((error: unknown) =>
      c.var.logger.warn("api key last_used_at not recorded", describeError(error)),
    ),
  );
  const { tenant } = credential;
  return {
    tenantId: tenant.id,
    keyId: credential.keyId,
    scopes: credential.scopes,
    plan: tenant.plan,
    status: tenant.status,
    rateLimitOverride: tenant.rateLimitOverride,
    db: credential.database,
    dbGeneration: credential.databaseGeneration,
  };
}
