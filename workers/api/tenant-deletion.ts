import type { Context } from "hono";
import { z } from "zod";
import { AppError } from "../../shared/errors";
import { type DeletionResult, deleteTenant } from "../../shared/lifecycle/deletion/delete-tenant";
import { forgetApiKey } from "../auth/authenticate";
import { forgetTenantSessions } from "../console/session-cache";
import { deletionHooks } from "../lifecycle/deletion-hooks";
import type { AppEnv } from "../types";
import { parseJsonBody } from "./validation";

/**
 * `DELETE /api/account` (the tenant's key) and `DELETE /api/tenants/:id`
 * (the operator): both need `{ "confirm": "<tenant id>" }`, so a stray
 * DELETE cannot erase an account. docs/lifecycle.md describes what goes.
 */
const confirmBody = z.object({ confirm: z.string().max(100) }).strict();

export async function deletionResponse(c: Context<AppEnv>, tenantId: string, actor: string): Promise<Response> {
  const { confirm } = await parseJsonBody(c, confirmBody);
  if (confirm !== tenantId) {
    throw new AppError(
      "invalid_request",
      `confirm must be the tenant id (${tenantId}) to delete this account and everything in it`,
      { code: "confirmation_mismatch" },
    );
  }
  return c.json(view(await deleteAccountNow(c, tenantId, actor)));
}

/** Delete the account (shared/lifecycle/delete-account.ts) with every hook wired: the API's and the console's one path. */
export async function deleteAccountNow(c: Context<AppEnv>, tenantId: string, actor: string): Promise<DeletionResult> {
  const { mgmtDb, config } = c.get("services");
  const keys = await mgmtDb.execute({ sql: "SELECT id FROM api_keys WHERE tenant_id = ?", args: [tenantId] }, "read");
  const result = await deleteTenant({ mgmt: mgmtDb, config, hooks: deletionHooks(c.env) }, tenantId, { actor });
  // This isolate forgets the keys and console sessions now; the others within their caches' bounds (60 s, 30 s).
  for (const row of keys.rows) forgetApiKey(String(row.id));
  forgetTenantSessions(tenantId);
  c.get("logger").info("account deleted", { tenant: tenantId, deletedNow: result.deletedNow });
  return result;
}

function view(result: DeletionResult) {
  return {
    object: "account_deletion",
    tenant_id: result.tenantId,
    deleted: true,
    already_deleted: !result.deletedNow,
    databases_deleted: result.databasesDeleted,
    keys_revoked: result.keysRevoked,
    oauth_grants_revoked: result.oauthGrantsRevoked,
    subscription_cancelled: result.subscriptionCancelled,
  };
}
