import { Hono } from "hono";
import { admitted } from "../../admission";
import { authenticate } from "../../auth/authenticate";
import { requireScope } from "../../auth/require-scope";
import { requireOwner } from "../../auth/team-actor";
import type { AppEnv } from "../../types";
import { deletionResponse } from "../tenant-deletion";

/**
 * `DELETE /api/account`: the owner deletes the tenant. Deleting everything is
 * the owner's act, so it takes the owner's scope (`keys:manage`, as signup's
 * first key and an owner's OAuth grant carry); an agent's `mcp:tools` key
 * that leaked must not be able to erase the account.
 */
export const tenantDeletion = new Hono<AppEnv>();

tenantDeletion.delete(
  "/",
  authenticate(),
  admitted(),
  requireScope("keys:manage"),
  requireOwner("delete the team"),
  (c) => deletionResponse(c, c.get("auth").tenantId, `tenant:${c.get("auth").keyId}`),
);
