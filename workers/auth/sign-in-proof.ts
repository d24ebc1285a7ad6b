import { fromBase64, toBase64 } from "../../shared/crypto/encoding";

/**
 * Between the sign-in form and the consent form the browser carries who
 * signed in as a MAC over (consent handle, user id, expiry). The handle is
 * the library's consent transaction: single use, ten minutes, and bound to
 * this browser by a cookie — so a proof cannot be replayed elsewhere or
 * grafted onto another authorization, and no server-side session is needed.
 *
 * The MAC key is derived with HKDF from `DB_TOKEN_ENCRYPTION_KEY` under its
 * own label: one secret to manage, and a key that can serve nothing else.
 */
const PROOF_TTL_MS = 10 * 60_000;
/**
 * Derived keys, kept per isolate once derived. The key is kept, not the
 * promise of it: in workerd a promise made by one request and awaited by
 * another ties the second to the first's lifetime (its reactions run as the
 * first request's queued actions, dropped when it ends), so concurrent first
 * sign-ins each derive their own.
 */
const keys = new Map<string, CryptoKey>();

async function macKey(secret: string): Promise<CryptoKey> {
  const kept = keys.get(secret);
  if (kept) return kept;
  const base = await crypto.subtle.importKey("raw", fromBase64(secret), "HKDF", false, ["deriveKey"]);
  const key = await crypto.subtle.deriveKey(
    {
      name: "HKDF",
      hash: "SHA-256",
      salt: new Uint8Array(32),
      info: new TextEncoder().encode("muninn oauth sign-in proof v1"),
    },
    base,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign", "verify"],
  );
  keys.set(secret, key);
  return key;
}

const message = (handle: string, userId: string, expires: number) =>
  new TextEncoder().encode(`${handle}\n${userId}\n${expires}`);

const base64url = (bytes: Uint8Array) => toBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const fromBase64url = (text: string) => fromBase64(text.replace(/-/g, "+").replace(/_/g, "/"));

export async function signInProof(secret: string, handle: string, userId: string, now = Date.now()): Promise<string> {
  const expires = now + PROOF_TTL_MS;
  const mac = await crypto.subtle.sign("HMAC", await macKey(secret), message(handle, userId, expires));
  return `${userId}.${expires}.${base64url(new Uint8Array(mac))}`;
}

/** The signed-in user id the proof carries for this handle, or null if it is forged, foreign or expired. */
export async function verifySignInProof(
  secret: string,
  handle: string,
  proof: string,
  now = Date.now(),
): Promise<string | null> {
  const [userId, expiresText, mac] = proof.split(".");
  const expires = Number(expiresText);
  if (!userId || !mac || !Number.isSafeInteger(expires) || expires <= now) return null;
  let signature: Uint8Array<ArrayBuffer>;
  try {
    signature = fromBase64url(mac);
  } catch {
    return null;
  }
  const valid = await crypto.subtle.verify("HMAC", await macKey(secret), signature, message(handle, userId, expires));
  return valid ? userId : null;
}
