import type { Config } from "../config";
import { sha256Hex } from "../crypto/encoding";
import { decryptToken } from "../crypto/token-encryption";
import type { Database, DatabaseCoordinates } from "../db/client";
import { looksLikeApiKey } from "./api-keys";
import { rowToTenant, type Tenant } from "./tenants";

/** Everything a request needs from its API key: the key, its tenant and the tenant's database. */
export interface Credential {
  keyId: string;
  /** The key's name, and the account it belongs to (today the tenant's owner): who writes with it. */
  keyName: string;
  accountId: string | null;
  scopes: string[];
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
  | { status: "unknown" | "revoked" | "expired" };

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
                   (SELECT u.id FROM users u WHERE u.tenant_id = k.tenant_id AND u.role = 'owner'
                     ORDER BY u.created_at LIMIT 1) AS key_account_id,
                   k.expires_at IS NOT NULL AND k.expires_at <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now') AS key_expired,
                   d.url AS db_url, d.auth_token_encrypted, d.generation AS db_generation, t.*
          FROM api_keys k
          JOIN tenants t ON t.id = k.tenant_id
          JOIN tenant_databases d ON d.tenant_id = k.tenant_id
          WHERE k.key_hash = ? AND t.status != 'deleted'`,
      args: [await sha256Hex(key)],
    },
    "read",
  );
  const row = result.rows[0];
  if (!row) return { status: "unknown" };
  if (row.key_revoked_at != null) return { status: "revoked" };
  if (Number(row.key_expired) === 1) return { status: "expired" };
  return {
    status: "valid",
    expiresAt: row.key_expires_at == null ? null : String(row.key_expires_at),
    credential: {
      keyId: String(row.key_id),
      keyName: String(row.key_name),
      accountId: row.key_account_id == null ? null : String(row.key_account_id),
      scopes: JSON.parse(String(row.key_scopes)) as string[],
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
