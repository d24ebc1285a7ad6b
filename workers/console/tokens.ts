import { fromBase64, toBase64 } from "../../shared/crypto/encoding";

/**
 * HMACs the console signs with. Keys are derived with HKDF from
 * `DB_TOKEN_ENCRYPTION_KEY` under their own label, so there is one secret
 * to manage and each derived key can serve only its purpose. Kept per
 * isolate once derived (the key, not a promise of it: a promise shared
 * across requests ties them together in workerd).
 */
const keys = new Map<string, CryptoKey>();

async function hmacKey(secret: string, label: string): Promise<CryptoKey> {
  const cacheKey = `${label}\n${secret}`;
  const kept = keys.get(cacheKey);
  if (kept) return kept;
  const base = await crypto.subtle.importKey("raw", fromBase64(secret), "HKDF", false, ["deriveKey"]);
  const key = await crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(32), info: new TextEncoder().encode(label) },
    base,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign"],
  );
  keys.set(cacheKey, key);
  return key;
}

/** base64url of HMAC-SHA-256(key for `label`, `message`). */
export async function sign(secret: string, label: string, message: string): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret, label), new TextEncoder().encode(message));
  return toBase64(new Uint8Array(mac)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
