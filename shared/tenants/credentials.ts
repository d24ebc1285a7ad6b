import type { Config } from "../config";
import { sha256Hex } from "../crypto/encoding";
import { decryptToken } from "../crypto/token-encryption";
import type { Database, DatabaseCoordinates } from "../db/client";
import { boundScopes, isRole, type Role } from "../teams/roles";
import { looksLikeApiKey } from "./api-keys";
import { rowToTenant, type Tenant } from "./tenants";

/** Everything a request needs from its API key: the key, its tenant and the tenant's database. */
export interface Credential {
  keyId: string;
  /** The key's name: what wrote with it, for attribution. */
  keyName: string;
  /** What the key may do: its scopes within its member's role (`boundScopes`). */
  scopes: string[];
  /** The member who made the key; null for an operator-made tenant's keys, which have none. */
  userId: string | null;
  /** That member's role now; null with `userId`. */
  role: Role | null;
  tenant: Tenant;
  database: DatabaseCoordinates;
  databaseGeneration: number;
}

async function tenantToken(config: Config, tenantId: string, row: Record<string, unknown>): Promise<string> {
  try {
    return await decryptToken(config.dbTokenEncryptionKey, String(row.auth_token_encrypted), tenantId);
  } catch (error) {
    throw new Error(
      `tenant ${tenantId}: its database token does not decrypt with DB_TOKEN_ENCRYPTION_KEY (rotated key, or a corrupted row)`,
      { cause: error },
    );
  }
}

/** Why a presented API key is refused, or the credential it grants. */
export type ApiKeyLookup =
  | { status: "valid"; credential: Credential; expiresAt: string | null }
  | { status: "unknown" | "revoked" | "expired" | "not_member" };

/**
 * Look an API key up in one management-DB round trip (key, tenant and
 * database joined), saying why it is refused: unknown (also when its tenant
 * is deleted or has no database), revoked or expired. The reason goes into
 * the 401 message, so an owner knows whether to fix a typo or mint a key.
 */
export async function lookupApiKey(db: Database, config: Config, key: string): Promise<ApiKeyLookup> {
  if (!looksLikeApiKey(key)) return { status: "unknown" };
  const result = await db.execute(
    {
      sql: `SELECT k.id AS key_id, k.scopes AS key_scopes, k.revoked_at AS key_revoked_at,
                   k.expires_at AS key_expires_at, k.name AS key_name,
                   k.expires_at IS NOT NULL AND k.expires_at <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now') AS key_expired,
                   k.user_id AS key_user_id, m.role AS member_role,
                   d.url AS db_url, d.auth_token_encrypted, d.generation AS db_generation, t.*
          FROM api_keys k
          JOIN tenants t ON t.id = k.tenant_id
          JOIN tenant_databases d ON d.tenant_id = k.tenant_id
          LEFT JOIN memberships m ON m.tenant_id = k.tenant_id AND m.user_id = k.user_id
          WHERE k.key_hash = ? AND t.status != 'deleted'`,
      args: [await sha256Hex(key)],
    },
    "read",
  );
  const row = result.rows[0];
  if (!row) return { status: "unknown" };
  if (row.key_revoked_at != null) return { status: "revoked" };
  if (Number(row.key_expired) === 1) return { status: "expired" };
  const userId = row.key_user_id == null ? null : String(row.key_user_id);
  const role = isRole(row.member_role) ? row.member_role : null;
  // A member's key dies with the membership (removal revokes it too; this
  // also covers a removal that raced the key's creation).
  if (userId !== null && role === null) return { status: "not_member" };
  return {
    status: "valid",
    expiresAt: row.key_expires_at == null ? null : String(row.key_expires_at),
    credential: {
      keyId: String(row.key_id),
      keyName: String(row.key_name),
      scopes: boundScopes(JSON.parse(String(row.key_scopes)) as string[], role),
      userId,
      role,
      tenant: rowToTenant(row),
      database: {
        url: String(row.db_url),
        authToken: await tenantToken(config, String(row.id), row),
      },
      databaseGeneration: Number(row.db_generation),
    },
  };
}

/** Resolve an API key: null when it is unknown, revoked or expired, or its tenant is deleted or has no database. */
export async function resolveCredential(db: Database, config: Config, key: string): Promise<Credential | null> {
  const lookup = await lookupApiKey(db, config, key);
  return lookup.status === "valid" ? lookup.credential : null;
}

/**
 * A tenant and its database coordinates, for a credential that names the
 * tenant (an OAuth token's grant): null when the tenant is deleted or has no database.
 */
export async function resolveTenantAccess(
  db: Database,
  config: Config,
  tenantId: string,
): Promise<{ tenant: Tenant; database: DatabaseCoordinates; databaseGeneration: number } | null> {
  const result = await db.execute(
    {
      sql: `SELECT d.url AS db_url, d.auth_token_encrypted, d.generation AS db_generation, t.*
          FROM tenants t JOIN tenant_databases d ON d.tenant_id = t.id
          WHERE t.id = ? AND t.status != 'deleted'`,
      args: [tenantId],
    },
    "read",
  );
  const row = result.rows[0];
  if (!row) return null;
  return {
    tenant: rowToTenant(row),
    database: { url: String(row.db_url), authToken: await tenantToken(config, String(row.id), row) },
    databaseGeneration: Number(row.db_generation),
  };
}
