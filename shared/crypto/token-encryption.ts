import { fromBase64, toBase64 } from "./encoding";

/**
 * Tenant database tokens are stored encrypted with AES-256-GCM so that a copy
 * of the management DB alone does not open every tenant's data. The key comes
 * from the DB_TOKEN_ENCRYPTION_KEY secret (base64 of 32 random bytes).
 * Stored form: `v1.<iv>.<ciphertext+tag>` — the version prefix leaves room to
 * rotate to a new key without a flag day.
 */
const VERSION = "v1";

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

export async function encryptToken(secret: string, token: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv },
    await importKey(secret),
    new TextEncoder().encode(token),
  );
  return `${VERSION}.${toBase64(iv)}.${toBase64(new Uint8Array(ciphertext))}`;
}

export async function decryptToken(secret: string, stored: string): Promise<string> {
  const [version, iv, ciphertext] = stored.split(".");
  if (version !== VERSION || !iv || !ciphertext) throw new Error("unrecognised encrypted token format");
  const plaintext = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: fromBase64(iv) },
    await importKey(secret),
    fromBase64(ciphertext),
  );
  return new TextDecoder().decode(plaintext);
}

/** A fresh key, base64, for `wrangler secret put DB_TOKEN_ENCRYPTION_KEY` and dev setup. */
export function generateEncryptionKey(): string {
  return toBase64(crypto.getRandomValues(new Uint8Array(32)));
}
