import { ownerOf } from "../../shared/accounts/accounts";
import { callStripe } from "../../shared/billing/stripe-client";
import type { TenantDeletionHooks } from "../../shared/lifecycle/deletion/delete-tenant";
import { revokeAllConnectedClients } from "../../shared/oauth/grants";
import { authorizationServer } from "../auth/oauth-server";
import { getServices } from "../services";

/**
 * What account deletion undoes outside the management DB: the tenant's
 * Durable Object storage, every OAuth grant of its owner, and (when billing
 * is configured) its Stripe subscription, cancelled at once. Wiring, not a
 * route: the account API, the console and the cron's finish of interrupted
 * deletions all pass these to `deleteTenant`.
 */
export function deletionHooks(env: Env): TenantDeletionHooks {
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
