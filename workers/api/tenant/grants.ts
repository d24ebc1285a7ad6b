import { type Context, Hono } from "hono";
import { writeAudit } from "../../../shared/audit";
import { AppError } from "../../../shared/errors";
import { type MemberGrant, teamGrantsInScope } from "../../../shared/teams/team-grants";
import { admitted } from "../../admission";
import { authenticate } from "../../auth/authenticate";
import { authorizationServer } from "../../auth/oauth-server";
import { requireScope } from "../../auth/require-scope";
import { clientIp } from "../../middleware/ip-rate-limit";
import type { AppEnv } from "../../types";

/**
 * `/api/oauth/grants`: the apps the team's members connected through OAuth
 * (Claude.ai, ChatGPT, Inspector…), listed and revoked with `keys:manage`:
 * an owner's or admin's credential sees every member's grants bound to this
 * team, a member's only their own. Revoking a grant deletes its tokens: the
 * app's next request is a 401.
 */
export const tenantGrants = new Hono<AppEnv>();

tenantGrants.use(authenticate(), admitted(), requireScope("keys:manage"));

const helpers = (c: Context<AppEnv>) => authorizationServer(c.get("services").config).getOAuthApi(c.env);

function grantsInScope(c: Context<AppEnv>): Promise<MemberGrant[]> {
  const { tenantId, userId, role } = c.get("auth");
  return teamGrantsInScope(c.get("services").mgmtDb, helpers(c), tenantId, { userId, role });
}

tenantGrants.get("/", async (c) => {
  const grants = await grantsInScope(c);
  return c.json({
    object: "list",
    data: grants.map(({ userId, grant }) => ({
      id: grant.grantId,
      object: "oauth_grant",
      client_id: grant.clientId,
      client_name: grant.clientName,
      scopes: grant.scopes,
      created_at: grant.createdAt,
      expires_at: grant.expiresAt,
      member_id: userId,
    })),
  });
});

tenantGrants.delete("/:id", async (c) => {
  const id = c.req.param("id");
  const found = (await grantsInScope(c)).find(({ grant }) => grant.grantId === id);
  if (!found) throw new AppError("not_found", `no OAuth grant ${JSON.stringify(id)}`, { code: "grant_not_found" });
  await helpers(c).revokeGrant(id, found.userId);
  const auth = c.get("auth");
  await writeAudit(c.get("services").mgmtDb, {
    tenantId: auth.tenantId,
    actor: auth.userId ? `user:${auth.userId}` : `tenant:${auth.keyId}`,
    action: "oauth_grant.revoke",
    details: { grantId: id, member: found.userId, via: auth.keyId ? `key:${auth.keyId}` : "oauth" },
    ip: clientIp(c),
  });
  return c.json({ id, object: "oauth_grant", revoked: true });
});
