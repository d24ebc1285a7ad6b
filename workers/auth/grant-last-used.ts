import { REFRESH_TOKEN_TTL_SECONDS } from "./oauth-server";

/**
 * When each OAuth grant was last used, for "Last used" on `/app/apps`.
 *
 * Recorded where an access token is resolved (authenticate.ts), in
 * `OAUTH_KV` beside the grant (`grant-last-used:<grant id>` → ISO time), at
 * most once a minute per grant and isolate, after the answer (`waitUntil`):
 * a request never waits for it and a busy client costs one KV write a minute.
 * So the time shown is within a minute or so of the real last use (plus KV's
 * own propagation). KV rather than a management-DB table: the grant itself
 * lives there, the value names no person, and it expires on its own when
 * the grant could no longer be refreshed (`REFRESH_TOKEN_TTL_SECONDS`), so a
 * revoked grant or a deleted account leaves nothing behind for long.
 */
const PREFIX = "grant-last-used:";
const RECORD_EVERY_MS = 60_000;
const MAX_REMEMBERED = 10_000;

/** Grant id → when this isolate last recorded a use. */
const recorded = new Map<string, number>();

/**
 * The grant an access token belongs to. workers-oauth-provider's access
 * tokens are `{userId}:{grantId}:{secret}` (its `Token` type says so); this
 * is only read from a token the library has just validated for `userId`.
 */
function grantOf(token: string, userId: string): string | null {
  const parts = token.split(":");
  return parts.length === 3 && parts[0] === userId && parts[1] ? parts[1] : null;
}

/** Note a use of a validated access token; returns the write to hand to `waitUntil`, or null when none is due. */
export function noteGrantUse(kv: KVNamespace, token: string, userId: string, now = Date.now()): Promise<void> | null {
  const grantId = grantOf(token, userId);
  if (!grantId) return null;
  const last = recorded.get(grantId);
  if (last !== undefined && now - last < RECORD_EVERY_MS) return null;
  recorded.delete(grantId);
  recorded.set(grantId, now);
  if (recorded.size > MAX_REMEMBERED) {
    const oldest = recorded.keys().next().value;
    if (oldest !== undefined) recorded.delete(oldest);
  }
  return kv.put(`${PREFIX}${grantId}`, new Date(now).toISOString(), { expirationTtl: REFRESH_TOKEN_TTL_SECONDS });
}

/** When the grant was last used, as recorded; null when it never was (or not since the record expired). */
export function grantLastUsed(kv: KVNamespace, grantId: string): Promise<string | null> {
  return kv.get(`${PREFIX}${grantId}`);
}
