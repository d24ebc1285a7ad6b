import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { fromBase64, toBase64 } from "../crypto/encoding";
import { weakPasswordReason } from "./password-strength";

/**
 * Password hashing: scrypt from `node:crypto` (native in workerd under
 * `nodejs_compat`), N = 2^14, r = 8, p = 5 — one of the settings OWASP's
 * Password Storage Cheat Sheet lists as equivalent to its first choice.
 *
 * Why scrypt and not the alternatives checked on this toolchain:
 * - PBKDF2 is not memory-hard, and production Workers refuse more than
 *   100,000 iterations (OWASP asks 600,000 for SHA-256).
 * - argon2id from `@noble/hashes` is pure JavaScript: ~140 ms of CPU per
 *   hash at m = 19 MiB, t = 2, against ~110 ms for native scrypt with the
 *   same memory cost (16 MiB). Every sign-in pays it, and CPU time is what
 *   a Worker is billed and limited by.
 * - `hash-wasm` cannot load (Workers forbid compiling Wasm at run time).
 *
 * The stored string carries its parameters (`scrypt$N$r$p$salt$hash`), so
 * they can be raised later: old hashes still verify, and `needsRehash`
 * says when to store a new one after a successful sign-in.
 */
export const PASSWORD_PARAMS = { N: 2 ** 14, r: 8, p: 5, keyLength: 32, saltLength: 16 } as const;
export const MIN_PASSWORD_LENGTH = 12;
const MAX_PASSWORD_LENGTH = 256;

interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

function derive(password: string, salt: Uint8Array, params: ScryptParams, keyLength: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    // 128·N·r bytes are needed; the default cap (32 MiB) leaves room, but say so explicitly.
    scrypt(password, salt, keyLength, { ...params, maxmem: 64 * 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(new Uint8Array(key)),
    );
  });
}

export async function hashPassword(password: string): Promise<string> {
  const { N, r, p, keyLength, saltLength } = PASSWORD_PARAMS;
  const salt = new Uint8Array(randomBytes(saltLength));
  const key = await derive(password, salt, { N, r, p }, keyLength);
  return `scrypt$${N}$${r}$${p}$${toBase64(salt)}$${toBase64(key)}`;
}

function parse(stored: string): { params: ScryptParams; salt: Uint8Array; key: Uint8Array } | null {
  const [scheme, n, r, p, salt, key] = stored.split("$");
  if (scheme !== "scrypt" || !n || !r || !p || !salt || !key) return null;
  return { params: { N: Number(n), r: Number(r), p: Number(p) }, salt: fromBase64(salt), key: fromBase64(key) };
}

/** Whether `password` matches `stored`, compared in constant time. A malformed hash matches nothing. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parse(stored);
  if (!parsed) return false;
  const candidate = await derive(password, parsed.salt, parsed.params, parsed.key.length);
  return candidate.length === parsed.key.length && timingSafeEqual(candidate, parsed.key);
}

/** Whether a hash was made with weaker parameters than today's, so it should be replaced. */
export function needsRehash(stored: string): boolean {
  const parsed = parse(stored);
  if (!parsed) return true;
  const { N, r, p } = PASSWORD_PARAMS;
  return parsed.params.N < N || parsed.params.r < r || parsed.params.p < p;
}

/**
 * The rule a password breaks, or null. Said to the person choosing it, so it
 * names the rule. `email` is the account's address, which a password must not contain.
 */
export function passwordProblem(password: string, email?: string): string | null {
  if (password.length < MIN_PASSWORD_LENGTH) {
    return `password: must be at least ${MIN_PASSWORD_LENGTH} characters`;
  }
  if (password.length > MAX_PASSWORD_LENGTH) return `password: must be at most ${MAX_PASSWORD_LENGTH} characters`;
  return weakPasswordReason(password, email);
}
