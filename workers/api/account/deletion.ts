import type { Context } from "hono";
import { z } from "zod";
import { ownerOf } from "../../../shared/accounts/accounts";
import { callStripe } from "../../../shared/billing/stripe-client";
import { AppError } from "../../../shared/errors";
import {
  type AccountDeletionHooks,
  type DeletionResult,
  deleteAccount,
} from "../../../shared/lifecycle/delete-account";
import { revokeAllConnectedClients } from "../../../shared/oauth/grants";
import { forgetApiKey } from "../../auth/authenticate";
import { authorizationServer } from "../../auth/oauth-server";
import { getServices } from "../../services";
import type { AppEnv } from "../../types";
import { parseJsonBody } from "../validation";

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
  const { mgmtDb, config } = c.get("services");
  const keys = await mgmtDb.execute({ sql: "SELECT id FROM api_keys WHERE tenant_id = ?", args: [tenantId] }, "read");
  const result = await deleteAccount({ mgmt: mgmtDb, config, hooks: deletionHooks(c.env) }, tenantId, { actor });
  // This isolate forgets the keys now; the others within the credential cache's 60 s.
  for (const row of keys.rows) forgetApiKey(String(row.id));
  c.get("logger").info("account deleted", { tenant: tenantId, deletedNow: result.deletedNow });
  return c.json(view(result));
}

/**
 * What account deletion undoes outside the management DB: the tenant's
 * Durable Object storage, every OAuth grant of its owner, and (when billing
 * is configured) its Stripe subscription, cancelled at once.
 */
export function deletionHooks(env: Env): AccountDeletionHooks {
  const { stripe, mgmtDb, config } = getServices(env);
  return {
    eraseTenantObject: (id) => env.TENANT_DO.getByName(id).eraseStorage(),
    // Grants are kept per owner account in the OAuth provider's store; revoking them ends every token.
    revokeOAuthGrants: async (tenantId) => {
      const owner = await ownerOf(mgmtDb, tenantId);
      return owner ? revokeAllConnectedClients(authorizationServer(config).getOAuthApi(env), owner.id) : 0;
    },
    ...(stripe && {
      cancelSubscription: async (subscriptionId: string) => {
        try {
          await stripe.subscriptions.cancel(subscriptionId);
        } catch (error) {
          // Already cancelled or gone (an earlier, interrupted deletion): done.
          if ((error as { code?: string }).code === "resource_missing") return;
          await callStripe("cancel the subscription", () => Promise.reject(error));
        }
      },
    }),
  };
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
