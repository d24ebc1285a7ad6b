import { type AuditEntry, auditStatement } from "../audit";
import { randomString, sha256Hex } from "../crypto/encoding";
import type { Database } from "../db/client";
import { MCP_BASELINE_SCOPE } from "./scopes";

/**
 * API keys are `mk_` + 40 random alphanumerics (~238 bits). Only a SHA-256 of
 * the key is stored: with that much entropy a fast hash is as safe as a slow
 * one and lets every request verify a key with one indexed lookup. The first
 * 11 characters (the prefix) are kept in clear so people can tell keys apart.
 */
export const API_KEY_PREFIX = "mk_";
const KEY_BODY_LENGTH = 40;
const DISPLAY_PREFIX_LENGTH = 11;

export interface NewApiKey {
  id: string;
  key: string;
  prefix: string;
}

export function looksLikeApiKey(value: string): boolean {
  return value.startsWith(API_KEY_PREFIX) && /^mk_[A-Za-z0-9]{40}$/.test(value);
}

/**
 * Build the key and the statement that stores it, so callers can batch it
 * with other writes. Without scopes a key may use the MCP tools and nothing
 * else: managing keys, grants or billing must be asked for by name.
 */
export async function prepareApiKey(
  tenantId: string,
  name: string,
  scopes: string[] = [MCP_BASELINE_SCOPE],
  expiresAt: string | null = null,
  userId: string | null = null,
) {
  const key = API_KEY_PREFIX + randomString(KEY_BODY_LENGTH);
  const id = `key_${randomString(16)}`;
  const prefix = key.slice(0, DISPLAY_PREFIX_LENGTH);
  return {
    apiKey: { id, key, prefix } satisfies NewApiKey,
    statement: {
      sql: `INSERT INTO api_keys (id, tenant_id, prefix, key_hash, name, scopes, expires_at, user_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      args: [id, tenantId, prefix, await sha256Hex(key), name, JSON.stringify(scopes), expiresAt, userId],
    },
  };
}

/** A key as its owner sees it: never the key itself, which is shown once at creation. */
export interface ApiKeyRecord {
  id: string;
  prefix: string;
  name: string;
  scopes: string[];
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  /** The member who made it (its scopes never exceed their role); null for an operator-made tenant's keys. */
  userId: string | null;
}

function rowToApiKey(row: Record<string, unknown>): ApiKeyRecord {
  return {
    id: String(row.id),
    prefix: String(row.prefix),
    name: String(row.name),
    scopes: JSON.parse(String(row.scopes)) as string[],
    createdAt: String(row.created_at),
    lastUsedAt: row.last_used_at == null ? null : String(row.last_used_at),
    expiresAt: row.expires_at == null ? null : String(row.expires_at),
    userId: row.user_id == null ? null : String(row.user_id),
  };
}

/** Who a key change is audited as. */
export type KeyChangeActor = Pick<AuditEntry, "actor" | "ip">;

/** Create a key and its audit entry in one transaction; the result carries the key, shown once. */
export async function createApiKey(
  db: Database,
  tenantId: string,
  input: { name: string; scopes?: string[]; expiresAt?: string | null; userId?: string | null },
  by: KeyChangeActor = { actor: "system" },
): Promise<NewApiKey & ApiKeyRecord> {
  const { apiKey, statement } = await prepareApiKey(
    tenantId,
    input.name,
    input.scopes,
    input.expiresAt ?? null,
    input.userId ?? null,
  );
  await db.batch(
    [
      statement,
      auditStatement({
        tenantId,
        ...by,
        action: "api_key.create",
        details: { keyId: apiKey.id, member: input.userId ?? null },
        after: { name: input.name, scopes: input.scopes ?? [MCP_BASELINE_SCOPE], expiresAt: input.expiresAt ?? null },
      }),
    ],
    "write",
  );
  const record = await getApiKey(db, tenantId, apiKey.id);
  if (!record) throw new Error(`api key ${apiKey.id} vanished right after creation`);
  return { ...record, key: apiKey.key };
}

/**
 * One unrevoked key of this tenant, or null (another tenant's key is null
 * too). With `onlyUserId`, only that member's own key (a team member manages
 * their own keys, not other people's).
 */
export async function getApiKey(
  db: Database,
  tenantId: string,
  keyId: string,
  onlyUserId: string | null = null,
): Promise<ApiKeyRecord | null> {
  const result = await db.execute(
    {
      sql: `SELECT * FROM api_keys WHERE id = ? AND tenant_id = ? AND revoked_at IS NULL
            AND (? IS NULL OR user_id = ?)`,
      args: [keyId, tenantId, onlyUserId, onlyUserId],
    },
    "read",
  );
  const row = result.rows[0];
  return row ? rowToApiKey(row) : null;
}

/**
 * The tenant's unrevoked keys (expired ones included, so their owner sees
 * why they stopped), newest first; with `onlyUserId`, that member's only.
 */
export async function listApiKeys(
  db: Database,
  tenantId: string,
  onlyUserId: string | null = null,
): Promise<ApiKeyRecord[]> {
  const result = await db.execute(
    {
      sql: `SELECT * FROM api_keys WHERE tenant_id = ? AND revoked_at IS NULL AND (? IS NULL OR user_id = ?)
            ORDER BY created_at DESC, id DESC`,
      args: [tenantId, onlyUserId, onlyUserId],
    },
    "read",
  );
  return result.rows.map(rowToApiKey);
}

/** Revoke one of the tenant's keys with its audit entry; false when it has no such unrevoked key. */
export async function revokeApiKey(
  db: Database,
  tenantId: string,
  keyId: string,
  by: KeyChangeActor = { actor: "system" },
  onlyUserId: string | null = null,
): Promise<boolean> {
  const key = await getApiKey(db, tenantId, keyId, onlyUserId);
  if (!key) return false;
  await db.batch(
    [
      {
        sql: `UPDATE api_keys SET revoked_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
              WHERE id = ? AND tenant_id = ? AND revoked_at IS NULL`,
        args: [keyId, tenantId],
      },
      auditStatement({ tenantId, ...by, action: "api_key.revoke", details: { keyId }, before: { name: key.name } }),
    ],
    "write",
  );
  return true;
}

/**
 * Record that a key was used. Called when a credential is verified against
 * the management DB (not on cache hits), and written at most every five
 * minutes per key, so `last_used_at` is accurate to minutes without a write
 * per request.
 */
export async function touchApiKey(db: Database, keyId: string): Promise<void> {
  await db.execute(
    {
      sql: `UPDATE api_keys SET last_used_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
          WHERE id = ? AND (last_used_at IS NULL OR last_used_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-5 minutes'))`,
      args: [keyId],
    },
    "write",
  );
}
