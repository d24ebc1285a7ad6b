import { fromBase64, toBase64 } from "./encoding";

/**
 * Tenant database tokens are stored encrypted with AES-256-GCM so that a copy
 * of the management DB alone does not open every tenant's data. The key comes
 * from the DB_TOKEN_ENCRYPTION_KEY secret (base64 of 32 random bytes).
 *
 * Stored form: `v2.<iv>.<ciphertext+tag>`, encrypted with the tenant id as
 * associated data: a ciphertext only decrypts for the tenant it was made
 * for, so someone who can write the management DB cannot move one tenant's
 * token into another tenant's row. `v1` (no associated data) is the earlier
 * form: still read during the transition, and rewritten as `v2` by
 * `npm run migrate` (`bindTenantTokens`); the next release stops reading it.
 */
const BOUND = "v2";
const LEGACY = "v1";

/**
 * Imported keys, cached once imported. The cache holds keys, not the import's
 * promise: in Workers a promise belongs to the request that created it, and
 * another request awaiting it fails ("Promise will never complete") if the
 * first one ends first. Two requests may import the same key at once; both
 * get an equal key.
 */
const keys = new Map<string, CryptoKey>();

async function importKey(secret: string): Promise<CryptoKey> {
  const cached = keys.get(secret);
  if (cached) return cached;
  const raw = fromBase64(secret);
  if (raw.length !== 32) throw new Error("DB_TOKEN_ENCRYPTION_KEY must be base64 of exactly 32 bytes");
  const key = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
  keys.set(secret, key);
  return key;
}

/** The associated data that binds a ciphertext to its tenant. */
function boundTo(tenantId: string): ArrayBuffer {
  const bytes = new TextEncoder().encode(`muninn tenant db token:${tenantId}`);
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

export async function encryptToken(secret: string, token: string, tenantId: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: boundTo(tenantId) },
    await importKey(secret),
    new TextEncoder().encode(token),
  );
  return `${BOUND}.${toBase64(iv)}.${toBase64(new Uint8Array(ciphertext))}`;
}

/** True when `stored` is in the unbound `v1` form that `bindTenantToken` rewrites. */
function isUnboundToken(stored: string): boolean {
  return stored.startsWith(`${LEGACY}.`);
}

/** Decrypt `tenantId`'s token; a `v2` ciphertext made for another tenant fails to decrypt. */
export async function decryptToken(secret: string, stored: string, tenantId: string): Promise<string> {
  const [version, iv, ciphertext] = stored.split(".");
  if ((version !== BOUND && version !== LEGACY) || !iv || !ciphertext) {
    throw new Error("unrecognised encrypted token format");
  }
  const plaintext = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: fromBase64(iv), ...(version === BOUND && { additionalData: boundTo(tenantId) }) },
    await importKey(secret),
    fromBase64(ciphertext),
  );
  return new TextDecoder().decode(plaintext);
}

/** A `v1` ciphertext rewritten as `v2` for `tenantId`. */
export async function bindTenantToken(secret: string, stored: string, tenantId: string): Promise<string> {
  if (!isUnboundToken(stored)) throw new Error("only a v1 token can be bound to its tenant");
  return encryptToken(secret, await decryptToken(secret, stored, tenantId), tenantId);
}

/** A fresh key, base64, for `wrangler secret put DB_TOKEN_ENCRYPTION_KEY` and dev setup. */
export function generateEncryptionKey(): string {
  return toBase64(crypto.getRandomValues(new Uint8Array(32)));
}
