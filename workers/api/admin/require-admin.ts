import type { Context } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { timingSafeEqual } from "../../../shared/crypto/encoding";
import { AppError } from "../../../shared/errors";
import type { AppEnv } from "../../types";

declare module "hono" {
  interface ContextVariableMap {
    /** Who the audit log names for an admin change. */
    adminActor: string;
  }
}

const ACTOR_NAME = /^[A-Za-z0-9@._+-]{1,100}$/;

/**
 * Guard for the operator API: `Authorization: Bearer $ADMIN_TOKEN` (Hono's
 * `bearerAuth`), compared in constant time so response timing reveals nothing
 * about the token. No credential is 401; any other credential (a tenant's API
 * key included) is 403, since the caller may well be authenticated — just not
 * as the operator. Refusals are thrown as `AppError`s so `app.onError` shapes
 * them like every other error.
 *
 * The token is shared, so operators may name themselves in `X-Admin-Actor`
 * for the audit log ("admin:alice"); the name is attribution, not identity.
 */
export function requireAdmin() {
  const missing = (): never => {
    throw new AppError("unauthorized", "admin token required", {
      headers: { "WWW-Authenticate": 'Bearer realm="muninn-admin"' },
    });
  };
  const refuse = (c: Context<AppEnv>): never => {
    c.get("logger").warn("admin API refused a credential", { route: c.req.path });
    throw new AppError("forbidden", "this credential cannot use the admin API", { code: "admin_token_required" });
  };
  return bearerAuth<AppEnv>({
    verifyToken: async (token, c) => {
      if (!(await timingSafeEqual(token, c.get("services").config.adminToken))) return false;
      const name = c.req.header("x-admin-actor");
      c.set("adminActor", name && ACTOR_NAME.test(name) ? `admin:${name}` : "admin");
      return true;
    },
    noAuthenticationHeader: { message: missing },
    // Hono refuses a token outside RFC 6750's b64token syntax as a malformed
    // header, but a tenant's OAuth access token (`user:grant:secret`) is such a
    // token: a credential, just not the operator's, so 403 like any other.
    // Only a header that carries no token at all is as good as none.
    invalidAuthenticationHeader: {
      message: (c: Context<AppEnv>) =>
        /^Bearer\s+\S/i.test(c.req.header("authorization") ?? "") ? refuse(c) : missing(),
    },
    invalidToken: { message: refuse },
  });
}
