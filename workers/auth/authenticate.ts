import type { Context, MiddlewareHandler } from "hono";
import { sha256Hex } from "../../shared/crypto/encoding";
import type { DatabaseCoordinates } from "../../shared/db/client";
import { DatabaseUnavailableError } from "../../shared/db/guarded";
import { AppError, unavailable } from "../../shared/errors";
import { describeError } from "../../shared/logging";
import type { Plan, TenantStatus } from "../../shared/plans";
import { roleIn } from "../../shared/teams/memberships";
import { boundScopes, type Role } from "../../shared/teams/roles";
import { API_KEY_PREFIX, touchApiKey } from "../../shared/tenants/api-keys";
import { lookupApiKey, resolveTenantAccess } from "../../shared/tenants/credentials";
import { MCP_BASELINE_SCOPE } from "../../shared/tenants/scopes";
import type { Tenant } from "../../shared/tenants/tenants";
import { FailedAttemptLimit } from "../middleware/ip-rate-limit";
import type { AppEnv } from "../types";
import { CredentialCache } from "./credential-cache";
import { noteGrantUse } from "./grant-last-used";
import { authorizationServer, type GrantProps, mcpResource, resourceMetadataUrl } from "./oauth-server";

/** Who is calling, resolved from the credential. */
export interface AuthenticatedTenant {
  tenantId: string;
  /** The API key used, or null for an OAuth access token. */
  keyId: string | null;
  /** The API key's name (null for an OAuth token), for attributing what it writes. */
  keyName?: string | null;
  /** What this credential may do: its own scopes within its member's role. */
  scopes: string[];
  /**
   * The member (account) the credential belongs to: the key's maker or the
   * OAuth grant's signed-in person. Null only for keys of tenants the
   * operator made without an owner account.
   */
  userId: string | null;
  /** That member's role in this tenant when the credential was verified (null with `userId`). */
  role: Role | null;
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
  /** When the credential stops working (ms since the epoch), checked on cache hits too; null: never. */
  expiresAt: number | null;
  /** Present when the credential is an OAuth access token: the account and the client it was issued to. */
  oauth?: { userId: string; clientId: string; clientName?: string | null };
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
/** Bad credentials per client address: past the per-IP limit an address gets 429 instead of 401 (and costs nothing). */
const failedAttempts = new FailedAttemptLimit("auth-failure");

function bearer(header: string | undefined): string | null {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match?.[1] ?? null;
}

/**
 * 401 with the challenge MCP clients follow (RFC 9728 + RFC 6750): where the
 * resource's metadata is — an absolute URL from configuration that answers
 * 200 — and the scope to ask for. A presented credential that failed adds
 * `error="invalid_token"`, so a client knows to sign in again rather than retry.
 */
function unauthorized(c: Context<AppEnv>, message: string, presented: boolean): AppError {
  const parts = [
    `resource_metadata="${resourceMetadataUrl(c.get("services").config)}"`,
    `scope="${MCP_BASELINE_SCOPE}"`,
  ];
  if (presented) parts.push('error="invalid_token"', `error_description="${message}"`);
  return new AppError("unauthorized", message, {
    code: presented ? "invalid_token" : "unauthorized",
    headers: { "WWW-Authenticate": `Bearer ${parts.join(", ")}` },
  });
}

const REFUSED: Record<"unknown" | "revoked" | "expired" | "not_member", string> = {
  unknown: "invalid API key: no such key; check it was copied whole, or create one with POST /api/keys",
  revoked: "API key revoked: create a new key with POST /api/keys",
  expired: "API key expired: create a new key with POST /api/keys",
  not_member: "API key revoked: the person who made it is no longer a member of this team",
};

/**
 * Resolve `Authorization: Bearer …` — an API key (`mk_…`) or an OAuth access
 * token — to a tenant. Missing or wrong credentials are 401 with
 * `WWW-Authenticate`; a management DB that cannot be reached is 503
 * "database unavailable" — never a misleading 401 — unless the credential
 * was verified recently enough to be served from the cache.
 */
export function authenticate(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = bearer(c.req.header("authorization"));
    if (!token) {
      throw unauthorized(c, "missing credential: send Authorization: Bearer <API key or OAuth access token>", false);
    }
    const auth = token.startsWith(API_KEY_PREFIX) ? await apiKeyAuth(c, token) : await oauthAuth(c, token);
    c.set("auth", auth);
    await next();
  };
}

/**
 * Resolve the request's credential again, past the cache: admission found
 * that the tenant's database moved since it was cached. This costs one
 * management-DB round trip, once per isolate and migration.
 */
export async function refreshCredential(c: Context<AppEnv>): Promise<void> {
  const token = bearer(c.req.header("authorization"));
  if (!token) return;
  if (token.startsWith(API_KEY_PREFIX)) {
    const cacheKey = await sha256Hex(token);
    const auth = await resolveApiKey(c, token, cacheKey);
    cache.set(cacheKey, auth);
    c.set("auth", auth);
  } else {
    tenants.delete(c.get("auth").tenantId);
    c.set("auth", await oauthAuth(c, token));
  }
}

// ---- API keys --------------------------------------------------------------

async function apiKeyAuth(c: Context<AppEnv>, key: string): Promise<AuthenticatedTenant> {
  const cacheKey = await sha256Hex(key);
  let auth = cache.fresh(cacheKey);
  if (auth && auth.expiresAt !== null && auth.expiresAt <= Date.now()) {
    // Expiry is exact on every isolate: the cached entry knows when its key ends.
    cache.delete(cacheKey);
    throw unauthorized(c, REFUSED.expired, true);
  }
  if (auth) return auth;
  if (unknownKeys.fresh(cacheKey)) throw (await failedAttempts.failed(c)) ?? unauthorized(c, REFUSED.unknown, true);
  const blocked = failedAttempts.blocked(c);
  if (blocked) throw blocked;
  try {
    auth = await resolveApiKey(c, key, cacheKey);
    cache.set(cacheKey, auth);
    return auth;
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
    if (!auth || (auth.expiresAt !== null && auth.expiresAt <= Date.now())) {
      c.get("logger").error("Cannot connect to management database", describeError(error));
      throw unavailable("database unavailable", { cause: error });
    }
    c.get("logger").warn("serving cached credential while the management database is unreachable", {
      tenant: auth.tenantId,
    });
    return auth;
  }
}

async function resolveApiKey(c: Context<AppEnv>, key: string, cacheKey: string): Promise<AuthenticatedTenant> {
  const { mgmtDb, config } = c.get("services");
  const lookup = await lookupApiKey(mgmtDb, config, key);
  if (lookup.status !== "valid") {
    if (lookup.status === "unknown") unknownKeys.set(cacheKey, true);
    throw (await failedAttempts.failed(c)) ?? unauthorized(c, REFUSED[lookup.status], true);
  }
  const expiresAt = lookup.expiresAt === null ? null : Date.parse(lookup.expiresAt);
  if (expiresAt !== null && expiresAt <= Date.now()) {
    throw (await failedAttempts.failed(c)) ?? unauthorized(c, REFUSED.expired, true);
  }
  const { credential } = lookup;
  c.executionCtx.waitUntil(
    touchApiKey(mgmtDb, credential.keyId).catch((error: unknown) =>
      c.get("logger").warn("api key last_used_at not recorded", describeError(error)),
    ),
  );
  return {
    ...tenantFields(credential.tenant, credential.database, credential.databaseGeneration),
    keyId: credential.keyId,
    keyName: credential.keyName,
    scopes: credential.scopes,
    userId: credential.userId,
    role: credential.role,
    expiresAt,
  };
}

/**
 * Forget a revoked key on this isolate, so it stops working here at once;
 * other isolates drop it when their cached verification turns 60 s old.
 */
export function forgetApiKey(keyId: string): void {
  cache.deleteWhere((auth) => auth.keyId === keyId);
}

/**
 * Forget everything this isolate verified about a member of a tenant —
 * their keys and their role (which bounds their OAuth tokens) — after the
 * member was removed or their role changed: the change holds here at once,
 * and on every other isolate when its cached verification turns 60 s old.
 */
export function forgetMember(tenantId: string, userId: string): void {
  cache.deleteWhere((auth) => auth.tenantId === tenantId && auth.userId === userId);
  memberRoles.delete(`${tenantId}:${userId}`);
}

// ---- OAuth access tokens ---------------------------------------------------

/**
 * An OAuth access token is checked against `OAUTH_KV` on every request (so a
 * revoked grant stops at once), bound to this service's `/mcp` resource
 * (RFC 8707). Its tenant's plan and database come from the management DB,
 * cached like an API key's and served stale during a management-DB outage.
 */
async function oauthAuth(c: Context<AppEnv>, token: string): Promise<AuthenticatedTenant> {
  const { config } = c.get("services");
  const blocked = failedAttempts.blocked(c);
  if (blocked) throw blocked;
  const validated = await authorizationServer(config).validateToken<GrantProps>(mcpResource(config), token, c.env);
  if (!validated) {
    throw (
      (await failedAttempts.failed(c)) ??
      unauthorized(c, "invalid or expired access token: sign in again to get a new one", true)
    );
  }
  const { tenantId, userId, clientName } = validated.props;
  const [tenant, role] = await Promise.all([tenantAccess(c, tenantId), memberRole(c, tenantId, userId)]);
  if (!tenant) throw unauthorized(c, "this access token's account no longer exists", true);
  // A grant is worth what its person's role allows today: removed from the
  // team, the token stops; moved to viewer, it reads only.
  if (!role) throw unauthorized(c, "this access token's account is no longer a member of this team", true);
  const noted = noteGrantUse(c.env.OAUTH_KV, token, userId);
  if (noted) {
    c.executionCtx.waitUntil(
      noted.catch((error: unknown) => c.get("logger").warn("oauth grant last use not recorded", describeError(error))),
    );
  }
  return {
    ...tenant,
    keyId: null,
    scopes: boundScopes(validated.scope, role),
    userId,
    role,
    expiresAt: validated.expiresAt * 1000,
    oauth: { userId, clientId: validated.clientId, clientName: clientName ?? null },
  };
}

/** Members' roles, cached and served stale like tenants (null: not a member). */
const memberRoles = new CredentialCache<Role | null>(FRESH_MS, STALE_MS);

async function memberRole(c: Context<AppEnv>, tenantId: string, userId: string): Promise<Role | null> {
  const key = `${tenantId}:${userId}`;
  const fresh = memberRoles.fresh(key);
  if (fresh !== undefined) return fresh;
  try {
    const role = await roleIn(c.get("services").mgmtDb, tenantId, userId);
    memberRoles.set(key, role);
    return role;
  } catch (error) {
    if (!(error instanceof DatabaseUnavailableError)) throw error;
    const stale = memberRoles.stale(key);
    if (stale === undefined) throw unavailable("database unavailable", { cause: error });
    return stale;
  }
}

type TenantFields = Omit<AuthenticatedTenant, "keyId" | "scopes" | "userId" | "role" | "expiresAt" | "oauth">;
const tenants = new CredentialCache<TenantFields | null>(FRESH_MS, STALE_MS);

async function tenantAccess(c: Context<AppEnv>, tenantId: string): Promise<TenantFields | null> {
  const fresh = tenants.fresh(tenantId);
  if (fresh !== undefined) return fresh;
  const { mgmtDb, config } = c.get("services");
  try {
    const access = await resolveTenantAccess(mgmtDb, config, tenantId);
    const fields = access ? tenantFields(access.tenant, access.database, access.databaseGeneration) : null;
    tenants.set(tenantId, fields);
    return fields;
  } catch (error) {
    if (!(error instanceof DatabaseUnavailableError)) throw error;
    const stale = tenants.stale(tenantId);
    if (stale === undefined) {
      c.get("logger").error("Cannot connect to management database", describeError(error));
      throw unavailable("database unavailable", { cause: error });
    }
    return stale;
  }
}

/**
 * The tenant's plan, status and database as this isolate last verified them
 * (at most 60 s old, else read now, and served stale through a management-DB
 * outage like a credential's): for pages that only display from it, so they
 * pay no management-DB round trip. Null when the tenant no longer exists.
 */
export function cachedTenantAccess(c: Context<AppEnv>, tenantId: string): Promise<TenantFields | null> {
  return tenantAccess(c, tenantId);
}

function tenantFields(tenant: Tenant, db: DatabaseCoordinates, dbGeneration: number): TenantFields {
  return {
    tenantId: tenant.id,
    plan: tenant.plan,
    status: tenant.status,
    rateLimitOverride: tenant.rateLimitOverride,
    recordUpdatedAt: tenant.updatedAt,
    graceEndsAt: tenant.graceEndsAt,
    db,
    dbGeneration,
  };
}
