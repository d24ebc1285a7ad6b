import { sessionNeedsTouch } from "../../shared/accounts/sessions";
import { sha256Hex } from "../../shared/crypto/encoding";
import { CredentialCache } from "../auth/credential-cache";
import type { SignedIn } from "./context";

/**
 * Verified console sessions, kept per isolate for `SESSION_CACHE_MS`, the
 * way the credential cache keeps API keys (workers/auth/authenticate.ts):
 * a page view then costs no management-DB round trip for the session.
 *
 * The trade-off, and why it is safe enough: a session ended on *another*
 * isolate (sign-out, a password change or reset, "sign out everywhere", the
 * account deleted) still opens pages here until this isolate's verification
 * is `SESSION_CACHE_MS` old — 30 s, half the bound API keys already have,
 * for a cookie that is `HttpOnly` and never leaves the browser. On the
 * isolate that ends a session the entry goes at once (`forget*` below).
 * Nothing is extended by the cache: a hit is refused once the session's
 * idle or absolute deadline *as last read* has passed, and a hit whose idle
 * deadline is due to be pushed forward (every 5 minutes of use) goes to the
 * database, which alone moves it. The cached account (email, verified) may
 * lag a change made elsewhere by the same bound; it grants nothing more.
 */
export const SESSION_CACHE_MS = 30_000;

const sessions = new CredentialCache<SignedIn>(SESSION_CACHE_MS, SESSION_CACHE_MS);

/** Cache key: the session id's SHA-256, as the table stores it, so the cache holds no cookie value. */
export const sessionKey = (id: string) => sha256Hex(id);

/** A verified session still inside its deadlines and not due for a touch, or undefined. */
export function cachedSession(idHash: string, now = Date.now()): SignedIn | undefined {
  const hit = sessions.fresh(idHash, now);
  if (!hit) return undefined;
  const { session } = hit;
  if (Date.parse(session.idleExpiresAt) <= now || Date.parse(session.expiresAt) <= now) {
    sessions.delete(idHash);
    return undefined;
  }
  return sessionNeedsTouch(session, now) ? undefined : hit;
}

export function rememberSession(signedIn: SignedIn, now = Date.now()): void {
  sessions.set(signedIn.session.idHash, signedIn, now);
}

/** This session ended here (sign-out, a new sign-in replacing it). */
export function forgetSession(idHash: string): void {
  sessions.delete(idHash);
}

/** Every session of this account ended, or the account changed (password, email, verification). */
export function forgetAccountSessions(userId: string): void {
  sessions.deleteWhere((entry) => entry.account.id === userId);
}

/** The tenant was deleted: none of its people is signed in any more. */
export function forgetTenantSessions(tenantId: string): void {
  sessions.deleteWhere((entry) => entry.account.tenantId === tenantId);
}
