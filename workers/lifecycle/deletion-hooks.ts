import { getAccount } from "../../shared/accounts/accounts";
import { callStripe } from "../../shared/billing/stripe-client";
import type { TenantDeletionHooks } from "../../shared/lifecycle/deletion/delete-tenant";
import { revokeTeamGrants } from "../../shared/oauth/grants";
import { listMembers } from "../../shared/teams/memberships";
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
    // Grants are kept per account in the OAuth provider's store; every member's grants bound to this team go,
    // which ends every token. A member's grants for their other teams stay.
    revokeOAuthGrants: async (tenantId) => {
      const oauth = authorizationServer(config).getOAuthApi(env);
      let revoked = 0;
      for (const member of await listMembers(mgmtDb, tenantId)) {
        const account = await getAccount(mgmtDb, member.userId);
        if (account) revoked += await revokeTeamGrants(oauth, account, tenantId);
      }
      return revoked;
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
