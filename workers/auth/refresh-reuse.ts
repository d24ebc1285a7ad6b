import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../types";
import { authorizationServer, REFRESH_TOKEN_TTL_SECONDS } from "./oauth-server";

/**
 * Refresh-token reuse detection (OAuth 2.1 §4.3.1, RFC 9700 §4.14.2).
 * Refresh tokens rotate on every use. A rotated-out token presented again
 * means two parties hold the grant's tokens — the client and someone who
 * stole one — and the server cannot tell which is which, so the whole grant
 * is revoked: both must sign in again, and the thief's tokens stop.
 *
 * workers-oauth-provider 1.2 keeps the previous refresh token valid (a grace
 * for a client that lost the response) and forgets older ones, so it can do
 * neither half. This wraps its token endpoint: after each successful
 * refresh, the presented token's SHA-256 is recorded in `OAUTH_KV` under
 * `rotated-refresh:` for as long as a grant can live; a refresh that
 * presents a recorded token revokes the grant instead of reaching the library.
 *
 * Cost of the decision: a client that really lost a refresh response (and so
 * retries with the old token) loses its grant and must be authorized again.
 * Limit: two uses of one token within KV's propagation window (up to a
 * minute between locations) can both pass; the library's own grant update
 * has the same window.
 */
const ROTATED_PREFIX = "rotated-refresh:";

async function sha256Hex(value: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The refresh token a token request presents, or null when it is not a refresh. */
async function presentedRefreshToken(request: Request): Promise<string | null> {
  if (request.method !== "POST") return null;
  if (!request.headers.get("content-type")?.toLowerCase().startsWith("application/x-www-form-urlencoded")) return null;
  const form = new URLSearchParams(await request.clone().text());
  if (form.get("grant_type") !== "refresh_token") return null;
  return form.get("refresh_token") || null;
}

export function refreshTokenReuse(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = await presentedRefreshToken(c.req.raw);
    if (!token) return next();
    const key = `${ROTATED_PREFIX}${await sha256Hex(token)}`;
    if ((await c.env.OAUTH_KV.get(key)) !== null) {
      // Tokens are `<userId>:<grantId>:<secret>`; a recorded hash proves this one was issued for that grant.
      const [userId = "", grantId = ""] = token.split(":");
      await authorizationServer(c.get("services").config).getOAuthApi(c.env).revokeGrant(grantId, userId);
      c.get("logger").warn("rotated-out refresh token reused; grant revoked", { grant: grantId });
      return c.json(
        {
          error: "invalid_grant",
          error_description:
            "This refresh token was already used and replaced. The grant has been revoked: authorize again.",
        },
        400,
        { "Cache-Control": "no-store" },
      );
    }
    await next();
    if (c.res.status === 200) await c.env.OAUTH_KV.put(key, "1", { expirationTtl: REFRESH_TOKEN_TTL_SECONDS });
  };
}
