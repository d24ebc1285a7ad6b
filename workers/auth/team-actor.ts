import type { Context, MiddlewareHandler } from "hono";
import { AppError } from "../../shared/errors";
import { actorRoleNow, type TeamActor } from "../../shared/teams/memberships";
import { clientIp } from "../middleware/ip-rate-limit";
import type { AppEnv } from "../types";
import type { AuthenticatedTenant } from "./authenticate";

/** Through what a credential acts, for the audit log: its key, or the OAuth client it was issued to. */
function credentialVia(auth: AuthenticatedTenant): string {
  return auth.keyId ? `key:${auth.keyId}` : `oauth:${auth.oauth?.clientId ?? "unknown"}`;
}

/** The request's credential as the member acting on the team (after `authenticate()`). */
export function teamActor(c: Context<AppEnv>): TeamActor {
  const auth = c.get("auth");
  return {
    userId: auth.userId,
    role: auth.role,
    actor: auth.userId ? `user:${auth.userId}` : `tenant:${auth.keyId}`,
    via: credentialVia(auth),
    ip: clientIp(c),
  };
}

/**
 * Only the team's owner (or a key of an operator-made tenant, which has no
 * members): billing and deleting the team are the owner's acts, whatever
 * scopes an admin's credential carries.
 */
export function requireOwner(what: string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    // The cached role may be up to 60 s old; after an ownership transfer the
    // old owner's credentials must not pay or delete, so read it fresh.
    const role = await actorRoleNow(c.get("services").mgmtDb, c.get("auth").tenantId, teamActor(c));
    if (role !== null && role !== "owner") {
      throw new AppError("forbidden", `only the team's owner may ${what}; this credential belongs to a team ${role}`, {
        code: "role_forbidden",
      });
    }
    await next();
  };
}
