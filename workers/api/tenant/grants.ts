import { type Context, Hono } from "hono";
import { ownerOf } from "../../../shared/accounts/accounts";
import { writeAudit } from "../../../shared/audit";
import { AppError } from "../../../shared/errors";
import { listConnectedClients, revokeConnectedClient } from "../../../shared/oauth/grants";
import { admitted } from "../../admission";
import { authenticate } from "../../auth/authenticate";
import { authorizationServer } from "../../auth/oauth-server";
import { requireScope } from "../../auth/require-scope";
import { clientIp } from "../../middleware/ip-rate-limit";
import type { AppEnv } from "../../types";

/**
 * `/api/oauth/grants`: the apps the tenant's owner connected through OAuth
 * (Claude.ai, ChatGPT, Inspector…), listed and revoked with `keys:manage`.
 * Revoking a grant deletes its tokens: the app's next request is a 401.
 */
export const tenantGrants = new Hono<AppEnv>();

tenantGrants.use(authenticate(), admitted(), requireScope("keys:manage"));

/** The account whose grants these are: the token's own, or the owner of the key's tenant. */
async function ownerId(c: Context<AppEnv>): Promise<string | null> {
  const auth = c.get("auth");
  if (auth.oauth) return auth.oauth.userId;
  return (await ownerOf(c.get("services").mgmtDb, auth.tenantId))?.id ?? null;
}

const helpers = (c: Context<AppEnv>) => authorizationServer(c.get("services").config).getOAuthApi(c.env);

tenantGrants.get("/", async (c) => {
  const userId = await ownerId(c);
  const grants = userId ? await listConnectedClients(helpers(c), userId) : [];
  return c.json({
    object: "list",
    data: grants.map((grant) => ({
      id: grant.grantId,
      object: "oauth_grant",
      client_id: grant.clientId,
      client_name: grant.clientName,
      scopes: grant.scopes,
      created_at: grant.createdAt,
      expires_at: grant.expiresAt,
    })),
  });
});

tenantGrants.delete("/:id", async (c) => {
  const id = c.req.param("id");
  const userId = await ownerId(c);
  if (!userId || !(await revokeConnectedClient(helpers(c), userId, id))) {
    throw new AppError("not_found", `no OAuth grant ${JSON.stringify(id)}`, { code: "grant_not_found" });
  }
  const auth = c.get("auth");
  await writeAudit(c.get("services").mgmtDb, {
    tenantId: auth.tenantId,
    actor: auth.keyId ? `tenant:${auth.keyId}` : `user:${userId}`,
    action: "oauth_grant.revoke",
    details: { grantId: id },
    ip: clientIp(c),
  });
  return c.json({ id, object: "oauth_grant", revoked: true });
});
