import type { Config } from "../config";
import { sha256Hex } from "../crypto/encoding";
import { decryptToken } from "../crypto/token-encryption";
import type { Database, DatabaseCoordinates } from "../db/client";
import { looksLikeApiKey } from "./api-keys";
import { rowToTenant, type Tenant } from "./tenants";

/** Everything a request needs from its API key: the key, its tenant and the tenant's database. */
export interface Credential {
  keyId: string;
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

/**
 * Resolve an API key in one management-DB round trip (key, tenant and
 * database joined): null when the key is unknown, revoked or expired, or its
 * tenant is deleted or has no database.
 */
export async function resolveCredential(db: Database, config: Config, key: string): Promise<Credential | null> {
  if (!looksLikeApiKey(key)) return null;
  const result = await db.execute(
    {
      sql: `SELECT k.id AS key_id, k.scopes AS key_scopes, d.url AS db_url, d.auth_token_encrypted, d.generation AS db_generation, t.*
          FROM api_keys k
          JOIN tenants t ON t.id = k.tenant_id
          JOIN tenant_databases d ON d.tenant_id = k.tenant_id
          WHERE k.key_hash = ? AND k.revoked_at IS NULL
            AND (k.expires_at IS NULL OR k.expires_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
            AND t.status != 'deleted'`,
      args: [await sha256Hex(key)],
    },
    "read",
  );
  const row = result.rows[0];
  if (!row) return null;
  return {
    keyId: String(row.key_id),
    scopes: JSON.parse(String(row.key_scopes)) as string[],
    tenant: rowToTenant(row),
    database: { url: String(row.db_url), authToken: await tenantToken(config, String(row.id), row) },
    databaseGeneration: Number(row.db_generation),
  };
}
