import type { MiddlewareHandler } from "hono";
import { sha256Hex } from "../../shared/crypto/encoding";
import type { DatabaseCoordinates } from "../../shared/db/client";
import { DatabaseUnavailableError } from "../../shared/db/guarded";
import { AppError, unavailable } from "../../shared/errors";
import { describeError } from "../../shared/logging";
import type { Plan, TenantStatus } from "../../shared/plans";
import { touchApiKey } from "../../shared/tenants/api-keys";
import { resolveCredential } from "../../shared/tenants/credentials";
import { FailedAttemptLimit } from "../middleware/ip-rate-limit";
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
  /** `tenants.updated_at` of the record read: the tenant's Durable Object applies it unless it holds a newer one. */
  recordUpdatedAt: string;
  /** While a payment is failing: when the paid plan's grace period ends. */
  graceEndsAt: string | null;
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
/**
 * Keys the management DB did not know, remembered briefly so that repeating
 * a bad key costs no query. Short, because a key may be created (or a
 * management DB restored) a moment later; a minted key is random, so nobody
 * sends it before it exists.
 */
const UNKNOWN_MS = 10_000;
const unknownKeys = new CredentialCache<true>(UNKNOWN_MS, UNKNOWN_MS);
/** Bad keys per client address: past the per-IP limit an address gets 429 instead of 401 (and costs nothing). */
const failedAttempts = new FailedAttemptLimit("auth-failure");

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
      if (unknownKeys.fresh(cacheKey)) throw (await failedAttempts.failed(c)) ?? unauthorized(c, "invalid API key");
      const blocked = failedAttempts.blocked(c);
      if (blocked) throw blocked;
      try {
        auth = await resolve(c, key, cacheKey);
        cache.set(cacheKey, auth);
      } catch (error) {
        if (error instanceof AppError) throw error;
        // Only an outage degrades to the cache. Anything else (a token that
        // no longer decrypts after a key rotation, a bug) is a 500 with its
        // real cause in the log: serving the stale cache or a 503 would hide
        // it behind "database unavailable".
        if (!(error instanceof DatabaseUnavailableError)) throw error;
        // Served as last verified, and not re-cached: the stale window runs
        // from the last real verification, however long the outage lasts.
        auth = cache.stale(cacheKey);
        if (!auth) {
          c.var.logger.error("Cannot connect to management database", describeError(error));
          throw unavailable("database unavailable", { cause: error });
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
  const cacheKey = await sha256Hex(key);
  const auth = await resolve(c, key, cacheKey);
  cache.set(cacheKey, auth);
  c.set("auth", auth);
}

async function resolve(
  c: Parameters<MiddlewareHandler<AppEnv>>[0],
  key: string,
  cacheKey: string,
): Promise<AuthenticatedTenant> {
  const { mgmtDb, config } = c.var.services;
  const credential = await resolveCredential(mgmtDb, config, key);
  if (!credential) {
    unknownKeys.set(cacheKey, true);
    throw (await failedAttempts.failed(c)) ?? unauthorized(c, "invalid API key");
  }
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
    recordUpdatedAt: tenant.updatedAt,
    graceEndsAt: tenant.graceEndsAt,
    db: credential.database,
    dbGeneration: credential.databaseGeneration,
  };
}

/**
 * Forget the given keys (by their SHA-256, as `api_keys.key_hash` stores
 * them) in this isolate at once; other isolates stop serving them within
 * the cache's fresh period (60 s).
 */
export function forgetCredentials(keyHashes: string[]): void {
  for (const hash of keyHashes) cache.delete(hash);
}
