import { Hono } from "hono";
import { z } from "zod";
import { AppError } from "../../../shared/errors";
import { managesAllCredentials, ROLE_SCOPES, scopesBeyondRole } from "../../../shared/teams/roles";
import { type ApiKeyRecord, createApiKey, listApiKeys, revokeApiKey } from "../../../shared/tenants/api-keys";
import { SCOPES } from "../../../shared/tenants/scopes";
import { admitted } from "../../admission";
import { type AuthenticatedTenant, authenticate, forgetApiKey } from "../../auth/authenticate";
import { requireScope } from "../../auth/require-scope";
import { clientIp } from "../../middleware/ip-rate-limit";
import type { AppEnv } from "../../types";
import { parseJsonBody } from "../validation";

/**
 * `/api/keys`: the tenant's API keys, managed with a key (or an OAuth
 * sign-in) that carries `keys:manage`. A key is shown once, at creation;
 * afterwards only its prefix. Revocation is immediate on the isolate that
 * served it and reaches every other within 60 s (the credential cache's bound).
 */
export const tenantKeys = new Hono<AppEnv>();

tenantKeys.use(authenticate(), admitted(), requireScope("keys:manage"));

const createBody = z
  .object({
    name: z.string().trim().min(1).max(100),
    scopes: z.array(z.enum(SCOPES)).min(1).max(SCOPES.length),
    expires_at: z.iso
      .datetime({ offset: true })
      .refine((value) => Date.parse(value) > Date.now(), { message: "must be in the future" })
      .nullable()
      .optional(),
  })
  .strict();

function keyView(key: ApiKeyRecord) {
  return {
    id: key.id,
    object: "api_key" as const,
    prefix: key.prefix,
    name: key.name,
    scopes: key.scopes,
    created_at: key.createdAt,
    last_used_at: key.lastUsedAt,
    expires_at: key.expiresAt,
    member_id: key.userId,
  };
}

function actor(auth: AuthenticatedTenant): string {
  return auth.keyId ? `tenant:${auth.keyId}` : `user:${auth.oauth?.userId ?? "unknown"}`;
}

/** Whose keys this credential manages: everyone's for owners and admins, else only its member's own. */
function onlyOwn(auth: AuthenticatedTenant): string | null {
  return managesAllCredentials(auth.role) ? null : auth.userId;
}

tenantKeys.get("/", async (c) => {
  const auth = c.get("auth");
  const keys = await listApiKeys(c.get("services").mgmtDb, auth.tenantId, onlyOwn(auth));
  return c.json({ object: "list", data: keys.map(keyView) });
});

tenantKeys.post("/", async (c) => {
  const body = await parseJsonBody(c, createBody);
  const { mgmtDb } = c.get("services");
  const expiresAt = body.expires_at ? new Date(body.expires_at).toISOString() : null;
  const auth = c.get("auth");
  const scopes = [...new Set(body.scopes)];
  // A key never carries more than its maker's role: a viewer's key reads, a member's cannot manage members.
  const beyond = scopesBeyondRole(scopes, auth.role);
  if (beyond.length > 0) {
    throw new AppError(
      "forbidden",
      `scopes: a team ${auth.role}'s keys cannot carry ${beyond.join(", ")}; ask for ${ROLE_SCOPES[auth.role ?? "owner"].join(", ")} at most`,
      { code: "scope_exceeds_role" },
    );
  }
  const created = await createApiKey(
    mgmtDb,
    auth.tenantId,
    { name: body.name, scopes, expiresAt, userId: auth.userId },
    { actor: actor(c.get("auth")), ip: clientIp(c) },
  );
  return c.json({ ...keyView(created), key: created.key }, 201);
});

tenantKeys.delete("/:id", async (c) => {
  const id = c.req.param("id");
  const { mgmtDb } = c.get("services");
  const by = { actor: actor(c.get("auth")), ip: clientIp(c) };
  if (!(await revokeApiKey(mgmtDb, c.get("auth").tenantId, id, by, onlyOwn(c.get("auth"))))) {
    throw new AppError("not_found", `no API key ${JSON.stringify(id)}`, { code: "api_key_not_found" });
  }
  forgetApiKey(id);
  return c.json({ id, object: "api_key", revoked: true });
});
