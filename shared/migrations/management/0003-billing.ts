import type { Migration } from "../../db/migrate";

/**
 * Management DB v3: Stripe billing state.
 *
 * - `billing_subscriptions`: the last applied state of each Stripe
 *   subscription, with the ordering key (`state_version`) that decides
 *   whether a later-arriving event is newer or stale.
 * - `tenants`: the payment-failure grace period and the ordering key of the
 *   last applied payment event (invoice paid / failed, past_due).
 * - `stripe_events` (from v1): which tenant an event concerned, what it did
 *   to the plan, how often it was tried, and the outcome in words.
 */
export default {
  version: 3,
  name: "billing",
  statements: [
    `CREATE TABLE billing_subscriptions (
      subscription_id TEXT PRIMARY KEY,
      tenant_id TEXT REFERENCES tenants (id) ON DELETE SET NULL,
      customer_id TEXT NOT NULL,
      status TEXT NOT NULL,
      price_id TEXT,
      plan TEXT CHECK (plan IS NULL OR plan IN ('pro', 'team')),
      current_period_end TEXT,
      cancel_at_period_end INTEGER NOT NULL DEFAULT 0,
      state_version TEXT NOT NULL,
      event_id TEXT NOT NULL,
      updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    )`,
    "CREATE INDEX billing_subscriptions_tenant ON billing_subscriptions (tenant_id)",
    "ALTER TABLE tenants ADD COLUMN billing_grace_ends_at TEXT",
    "ALTER TABLE tenants ADD COLUMN billing_payment_failed_at TEXT",
    "ALTER TABLE tenants ADD COLUMN billing_payment_version INTEGER NOT NULL DEFAULT 0",
    "CREATE INDEX tenants_billing_grace ON tenants (billing_grace_ends_at) WHERE billing_grace_ends_at IS NOT NULL",
    "ALTER TABLE stripe_events ADD COLUMN tenant_id TEXT",
    "ALTER TABLE stripe_events ADD COLUMN outcome TEXT",
    "ALTER TABLE stripe_events ADD COLUMN plan_before TEXT",
    "ALTER TABLE stripe_events ADD COLUMN plan_after TEXT",
    "ALTER TABLE stripe_events ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1",
    "CREATE INDEX stripe_events_status_time ON stripe_events (status, received_at)",
  ],
} satisfies Migration;
