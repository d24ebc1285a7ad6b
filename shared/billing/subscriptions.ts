import type Stripe from "stripe";
import type { BillingConfig } from "../config";
import type { Statement } from "../db/client";
import { isoFromSeconds } from "../db/row-values";
import { currentPeriodEnd, idOf, planForPrice, subscriptionPrice } from "./subscription-state";

/**
 * `billing_subscriptions`: the last applied state of each Stripe subscription
 * and its ordering key (`state_version`, see `stateVersion`).
 */
export interface SubscriptionWrite {
  subscription: Stripe.Subscription;
  tenantId: string | null;
  /** The ordering key of this state. */
  version: string;
  /** The event (or `reconcile:<time>`) the state comes from; tells a transaction whether its write won. */
  source: string;
  /**
   * When the row is replaced: `newer` (a webhook: only a newer state, or for a
   * same-key tie an update starting from the status held), `not_older` (a
   * forced replay: the same event again), `always` (reconciliation writes Stripe's present state).
   */
  when: "newer" | "not_older" | "always";
  /** `previous_attributes.status` of the update event, for the same-key tie. */
  previousStatus?: string | null;
}

/** The upsert of one subscription state, to put in the transaction that applies it. */
export function subscriptionUpsert(prices: BillingConfig["prices"], write: SubscriptionWrite): Statement {
  const { subscription } = write;
  const priceId = subscriptionPrice(subscription);
  const periodEnd = currentPeriodEnd(subscription);
  const guard = {
    always: "1",
    not_older: "excluded.state_version >= billing_subscriptions.state_version",
    newer: `excluded.state_version > billing_subscriptions.state_version
      OR (excluded.state_version = billing_subscriptions.state_version
        AND billing_subscriptions.status = ? AND excluded.status != billing_subscriptions.status)`,
  }[write.when];
  return {
    sql: `INSERT INTO billing_subscriptions (subscription_id, tenant_id, customer_id, status, price_id, plan,
            current_period_end, cancel_at_period_end, state_version, event_id)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (subscription_id) DO UPDATE SET tenant_id = COALESCE(excluded.tenant_id, tenant_id),
            customer_id = excluded.customer_id, status = excluded.status, price_id = excluded.price_id,
            plan = excluded.plan, current_period_end = excluded.current_period_end,
            cancel_at_period_end = excluded.cancel_at_period_end, state_version = excluded.state_version,
            event_id = excluded.event_id, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
          WHERE ${guard}`,
    args: [
      subscription.id,
      write.tenantId,
      idOf(subscription.customer) ?? "",
      subscription.status,
      priceId,
      planForPrice(prices, priceId),
      periodEnd === null ? null : isoFromSeconds(periodEnd),
      subscription.cancel_at_period_end ? 1 : 0,
      write.version,
      write.source,
      ...(write.when === "newer" ? [write.previousStatus ?? null] : []),
    ],
  };
}
