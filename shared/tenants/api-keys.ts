import { randomString, sha256Hex } from "../crypto/encoding";
import type { Database } from "../db/client";

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

/** Build the key and the statement that stores it, so callers can batch it with other writes. */
export async function prepareApiKey(tenantId: string, name: string, scopes: string[] = ["mcp"]) {
  const key = API_KEY_PREFIX + randomString(KEY_BODY_LENGTH);
  const id = `key_${randomString(16)}`;
  const prefix = key.slice(0, DISPLAY_PREFIX_LENGTH);
  return {
    apiKey: { id, key, prefix } satisfies NewApiKey,
    statement: {
      sql: "INSERT INTO api_keys (id, tenant_id, prefix, key_hash, name, scopes) VALUES (?, ?, ?, ?, ?, ?)",
      args: [id, tenantId, prefix, await sha256Hex(key), name, JSON.stringify(scopes)],
    },
  };
}

export async function createApiKey(
  db: Database,
  tenantId: string,
  name: string,
  scopes?: string[],
): Promise<NewApiKey> {
  const { apiKey, statement } = await prepareApiKey(tenantId, name, scopes);
  await db.execute(statement, "write");
  return apiKey;
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
