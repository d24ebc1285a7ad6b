import { LibsqlError } from "@libsql/client/web";
import type Stripe from "stripe";
import type { BillingConfig } from "../config";
import type { Database, Statement } from "../db/client";
import { isoFromSeconds } from "../db/row-values";
import { allOf, fragment, tenantWhere, updateTenants } from "../tenants/tenant-writes";
import { rowToTenant, type Tenant } from "../tenants/tenants";
import type { BillingContext } from "./customers";
import { readEventRow } from "./stripe-event-store";
import { idOf, planEffect, planForPrice, stateVersion, subscriptionPrice, terminalVersion } from "./subscription-state";
import { subscriptionUpsert } from "./subscriptions";

/**
 * Stripe events: each event id is recorded once (`stripe_events.event_id` is
 * the primary key) in the same management-DB transaction as the state change
 * it makes and its audit entry, so an event is applied exactly once or not at
 * all. A duplicate delivery fails that transaction on the key and changes
 * nothing; a failed attempt leaves only its error behind, and the retry
 * applies the event whole.
 */

/** The event types that change billing state; everything else is recorded as `ignored`. */
export const HANDLED_EVENT_TYPES = [
  "checkout.session.completed",
  "customer.subscription.created",
  "customer.subscription.updated",
  "customer.subscription.deleted",
  "invoice.paid",
  "invoice.payment_failed",
  "charge.refunded",
  "customer.deleted",
] as const;
export type HandledEventType = (typeof HANDLED_EVENT_TYPES)[number];

export function isHandled(type: string): type is HandledEventType {
  return (HANDLED_EVENT_TYPES as readonly string[]).includes(type);
}

/**
 * What processing did:
 * - `applied`: the state change was made (the plan may or may not have moved);
 * - `stale`: not newer than the state already applied for the subscription or payment: recorded, nothing changed;
 * - `unchanged`: recorded, nothing to change (e.g. a refund, or no tenant owns the customer);
 * - `ignored`: a type Muninn does not act on;
 * - `duplicate`: this event id was already processed; nothing was done.
 */
export type EventOutcome = "applied" | "stale" | "unchanged" | "ignored" | "duplicate";

export interface ProcessedEvent {
  outcome: EventOutcome;
  /** The tenant the event concerned, as it is now (for pushing to its Durable Object). */
  tenant: Tenant | null;
  planBefore: string | null;
  planAfter: string | null;
}

export interface ProcessOptions {
  /** Reprocess an event already processed (operator replay with `force=true`). */
  force?: boolean;
}

const NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/** Apply `event` exactly once. Throws on a processing failure (after which nothing of it is applied). */
export async function processStripeEvent(
  context: BillingContext,
  event: Stripe.Event,
  options: ProcessOptions = {},
): Promise<ProcessedEvent> {
  const { mgmtDb } = context;
  const previous = await readEventRow(mgmtDb, event.id);
  if (previous && previous.status !== "failed" && !options.force) return duplicate(mgmtDb, previous.tenantId);

  const change = await planChange(context, event, options.force === true);
  const statements: Statement[] = [
    // A failed attempt left a row with its error; a forced replay replaces a processed one.
    {
      sql: `DELETE FROM stripe_events WHERE event_id = ? AND ${options.force ? "1" : "status = 'failed'"}`,
      args: [event.id],
    },
    {
      sql: `INSERT INTO stripe_events
              (event_id, type, created, status, tenant_id, plan_before, attempts, received_at, processed_at)
            VALUES (?, ?, ?, ?, ?, (SELECT plan FROM tenants WHERE id = ?), ?, COALESCE(?, ${NOW}), ${NOW})`,
      args: [
        event.id,
        event.type,
        event.created,
        change.kind === "ignored" ? "ignored" : "processed",
        change.tenantId,
        change.tenantId,
        (previous?.attempts ?? 0) + 1,
        previous?.receivedAt ?? null,
      ],
    },
    ...change.statements,
    {
      sql: `UPDATE stripe_events SET outcome = ${change.outcomeSql},
              plan_after = (SELECT plan FROM tenants WHERE id = stripe_events.tenant_id)
            WHERE event_id = ?`,
      args: [...change.outcomeArgs, event.id],
    },
    // The runbook's trail: one `webhook` entry per event that concerned a tenant, with the plan before and after.
    {
      sql: `INSERT INTO audit_log (tenant_id, actor, action, target, metadata)
            SELECT tenant_id, 'stripe', 'webhook', tenant_id, json_object(
              'eventId', event_id, 'type', type, 'outcome', outcome, 'replay', json(?),
              'before', json_object('plan', plan_before), 'after', json_object('plan', plan_after))
            FROM stripe_events WHERE event_id = ? AND tenant_id IS NOT NULL`,
      args: [options.force ? "true" : "false", event.id],
    },
    { sql: "SELECT outcome, plan_before, plan_after FROM stripe_events WHERE event_id = ?", args: [event.id] },
    { sql: "SELECT * FROM tenants WHERE id = ?", args: [change.tenantId] },
  ];

  let results: Awaited<ReturnType<Database["batch"]>>;
  try {
    results = await mgmtDb.batch(statements, "write");
  } catch (error) {
    // Another delivery of the same event committed first (the insert hit the primary key): a duplicate.
    if (isUniqueViolation(error)) {
      const row = await readEventRow(mgmtDb, event.id);
      if (row && row.status !== "failed") return duplicate(mgmtDb, row.tenantId);
    }
    throw error;
  }
  const summary = results.at(-2)?.rows[0];
  const tenantRow = results.at(-1)?.rows[0];
  return {
    outcome: (change.kind === "ignored" ? "ignored" : String(summary?.outcome ?? "unchanged")) as EventOutcome,
    tenant: tenantRow ? rowToTenant(tenantRow) : null,
    planBefore: summary?.plan_before == null ? null : String(summary.plan_before),
    planAfter: summary?.plan_after == null ? null : String(summary.plan_after),
  };
}

async function duplicate(mgmtDb: Database, tenantId: string | null): Promise<ProcessedEvent> {
  const tenant = tenantId ? await readTenant(mgmtDb, tenantId) : null;
  return { outcome: "duplicate", tenant, planBefore: tenant?.plan ?? null, planAfter: tenant?.plan ?? null };
}

async function readTenant(mgmtDb: Database, tenantId: string): Promise<Tenant | null> {
  const result = await mgmtDb.execute({ sql: "SELECT * FROM tenants WHERE id = ?", args: [tenantId] }, "read");
  const row = result.rows[0];
  return row ? rowToTenant(row) : null;
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof LibsqlError && error.code.startsWith("SQLITE_CONSTRAINT");
}

/** The statements one event adds to its transaction, and how its outcome is decided inside it. */
interface PlannedChange {
  kind: "state" | "ignored";
  tenantId: string | null;
  statements: Statement[];
  /** SQL evaluated after `statements` (same transaction) giving the outcome word. */
  outcomeSql: string;
  outcomeArgs: (string | number | null)[];
}

function nothingToChange(tenantId: string | null, kind: PlannedChange["kind"] = "state"): PlannedChange {
  return {
    kind,
    tenantId,
    statements: [],
    outcomeSql: "?",
    outcomeArgs: [kind === "ignored" ? "ignored" : "unchanged"],
  };
}

async function planChange(context: BillingContext, event: Stripe.Event, force: boolean): Promise<PlannedChange> {
  const { mgmtDb } = context;
  switch (event.type) {
    case "customer.subscription.created":
    case "customer.subscription.updated":
    case "customer.subscription.deleted": {
      const subscription = event.data.object;
      const tenantId = await tenantFor(mgmtDb, idOf(subscription.customer));
      if (!tenantId) return unknownCustomer();
      return subscriptionChange(context.billing, event, subscription, tenantId, force);
    }
    case "checkout.session.completed": {
      const session = event.data.object;
      const tenantId = await tenantFor(mgmtDb, idOf(session.customer));
      if (!tenantId) return unknownCustomer();
      const subscriptionId = idOf(session.subscription);
      if (session.mode !== "subscription" || !subscriptionId) return nothingToChange(tenantId);
      // The session names the subscription but not its state: fetch it, so the
      // paid plan starts even if the subscription's own events are late or lost.
      const subscription = await context.stripe.subscriptions.retrieve(subscriptionId);
      if (idOf(subscription.customer) !== idOf(session.customer)) return unknownCustomer();
      return subscriptionChange(context.billing, event, subscription, tenantId, force);
    }
    case "invoice.paid":
    case "invoice.payment_failed": {
      const invoice = event.data.object;
      const tenantId = await tenantFor(mgmtDb, idOf(invoice.customer));
      if (!tenantId) return unknownCustomer();
      return paymentChange(context.billing, event, tenantId, idOf(invoice.parent?.subscription_details?.subscription));
    }
    case "charge.refunded": {
      // A refund alone changes no plan (a cancellation arrives as its own
      // subscription event); it is recorded and audited for the trail.
      const tenantId = await tenantFor(mgmtDb, idOf(event.data.object.customer));
      return tenantId ? nothingToChange(tenantId) : unknownCustomer();
    }
    case "customer.deleted": {
      const customer = event.data.object;
      const tenantId = await tenantFor(mgmtDb, customer.id);
      if (!tenantId) return unknownCustomer();
      return customerDeleted(event, customer.id, tenantId);
    }
    default:
      return nothingToChange(null, "ignored");
  }
}

/**
 * The tenant an object belongs to: the one whose Stripe customer it names,
 * and nothing else. Checkout stores the tenant's customer before any
 * subscription can exist, so every genuine event names a known customer.
 * `metadata.tenant_id` and `client_reference_id` are never consulted: anyone
 * who can get a subscription created in the account (another tenant's
 * checkout, the dashboard, a support action) controls them, and trusting
 * them let a signed event upgrade a victim tenant and take over its
 * customer link.
 */
async function tenantFor(mgmtDb: Database, customerId: string | null): Promise<string | null> {
  if (!customerId) return null;
  const result = await mgmtDb.execute(
    { sql: "SELECT id FROM tenants WHERE stripe_customer_id = ? LIMIT 1", args: [customerId] },
    "read",
  );
  const row = result.rows[0];
  return row ? String(row.id) : null;
}

/** An event about a customer no tenant owns: recorded (status and outcome `ignored`), nothing else. */
function unknownCustomer(): PlannedChange {
  return nothingToChange(null, "ignored");
}

function subscriptionChange(
  billing: BillingConfig,
  event: Stripe.Event,
  subscription: Stripe.Subscription,
  tenantId: string | null,
  force: boolean,
): PlannedChange {
  const subscriptionId = subscription.id;
  const plan = planForPrice(billing.prices, subscriptionPrice(subscription));
  const statements: Statement[] = [
    // The ordering guard: a state is kept only if it is newer than the one held
    // (or, for an operator's forced replay, as new: the same event again).
    subscriptionUpsert(billing.prices, {
      subscription,
      tenantId,
      version: stateVersion(event.created, subscription),
      source: event.id,
      when: force ? "not_older" : "newer",
      previousStatus: previousStatus(event),
    }),
  ];
  const applied = fragment(
    "EXISTS (SELECT 1 FROM billing_subscriptions WHERE subscription_id = ? AND event_id = ?)",
    subscriptionId,
    event.id,
  );
  // The tenant's plan follows this subscription only if it is the tenant's
  // subscription (or the tenant has none); a paid state also takes over.
  const own = fragment("stripe_subscription_id IS NULL OR stripe_subscription_id = ?", subscriptionId);
  const effect = planEffect(subscription.status);
  // Payment events have their own order (`billing_payment_version`): an older state never undoes a newer payment.
  const paymentNewer = "billing_payment_version <= ?";
  const paymentVersion = fragment("MAX(billing_payment_version, ?)", event.created);
  if (tenantId && effect === "grant" && plan) {
    statements.push(
      updateTenants(
        {
          plan,
          stripe_subscription_id: subscriptionId,
          billing_grace_ends_at: fragment(
            `CASE WHEN ${paymentNewer} THEN NULL ELSE billing_grace_ends_at END`,
            event.created,
          ),
          billing_payment_failed_at: fragment(
            `CASE WHEN ${paymentNewer} THEN NULL ELSE billing_payment_failed_at END`,
            event.created,
          ),
          billing_payment_version: paymentVersion,
        },
        tenantWhere(tenantId, applied),
      ),
    );
  } else if (tenantId && effect === "grace") {
    // Payment is failing: the plan is kept (never raised) and the grace period starts once.
    const graceEnds = new Date(event.created * 1000 + billing.gracePeriodMs).toISOString();
    statements.push(
      updateTenants(
        {
          stripe_subscription_id: subscriptionId,
          billing_grace_ends_at: fragment(
            `CASE WHEN ${paymentNewer} AND plan != 'free' THEN COALESCE(billing_grace_ends_at, ?) ELSE billing_grace_ends_at END`,
            event.created,
            graceEnds,
          ),
          billing_payment_failed_at: fragment(
            `CASE WHEN ${paymentNewer} AND plan != 'free' THEN COALESCE(billing_payment_failed_at, ?) ELSE billing_payment_failed_at END`,
            event.created,
            isoFromSeconds(event.created),
          ),
          billing_payment_version: paymentVersion,
        },
        tenantWhere(tenantId, applied, own),
      ),
    );
  } else if (tenantId && effect === "revoke") {
    statements.push(
      updateTenants(
        {
          plan: "free",
          stripe_subscription_id: subscriptionId,
          billing_grace_ends_at: null,
          billing_payment_failed_at: null,
        },
        tenantWhere(tenantId, applied, own),
      ),
    );
  } else if (tenantId) {
    // `incomplete`, or a price this deployment does not sell: link, change no plan.
    statements.push(
      updateTenants(
        { stripe_subscription_id: fragment("COALESCE(stripe_subscription_id, ?)", subscriptionId) },
        tenantWhere(tenantId, applied),
      ),
    );
  }
  return {
    kind: "state",
    tenantId,
    statements,
    outcomeSql: `CASE WHEN ${applied.sql} THEN 'applied' ELSE 'stale' END`,
    outcomeArgs: applied.args,
  };
}

/**
 * The status an update moved the subscription from (`previous_attributes`).
 * Two updates in the same second with the same timestamps are ordered by it:
 * the one that starts from the status held is the later one.
 */
function previousStatus(event: Stripe.Event): string | null {
  const previous = (event.data as { previous_attributes?: { status?: unknown } }).previous_attributes;
  return typeof previous?.status === "string" ? previous.status : null;
}

function paymentChange(
  billing: BillingConfig,
  event: Stripe.Event,
  tenantId: string | null,
  subscriptionId: string | null,
): PlannedChange {
  if (!tenantId) return nothingToChange(null);
  // Payment events have their own order: the newest paid / failed decides whether payment is failing.
  const where = tenantWhere(
    tenantId,
    fragment("billing_payment_version <= ?", event.created),
    fragment(
      "? IS NULL OR stripe_subscription_id IS NULL OR stripe_subscription_id = ?",
      subscriptionId,
      subscriptionId,
    ),
  );
  const statement =
    event.type === "invoice.payment_failed"
      ? updateTenants(
          {
            billing_grace_ends_at: fragment(
              "CASE WHEN plan != 'free' THEN COALESCE(billing_grace_ends_at, ?) END",
              new Date(event.created * 1000 + billing.gracePeriodMs).toISOString(),
            ),
            billing_payment_failed_at: fragment(
              "COALESCE(billing_payment_failed_at, ?)",
              isoFromSeconds(event.created),
            ),
            billing_payment_version: event.created,
          },
          where,
        )
      : updateTenants(
          { billing_grace_ends_at: null, billing_payment_failed_at: null, billing_payment_version: event.created },
          where,
        );
  return {
    kind: "state",
    tenantId,
    statements: [statement],
    // changes() is the row count of the statement just before (same connection, same transaction).
    outcomeSql: "CASE WHEN changes() > 0 THEN 'applied' ELSE 'stale' END",
    outcomeArgs: [],
  };
}

function customerDeleted(event: Stripe.Event, customerId: string, tenantId: string | null): PlannedChange {
  return {
    kind: "state",
    tenantId,
    statements: [
      // Every subscription of the customer ends with it; older events about them become stale.
      {
        sql: `UPDATE billing_subscriptions SET status = 'canceled', state_version = ?, event_id = ?, updated_at = ${NOW}
              WHERE customer_id = ? AND state_version < ?`,
        args: [terminalVersion(event.created), event.id, customerId, terminalVersion(event.created)],
      },
      updateTenants(
        {
          plan: "free",
          stripe_customer_id: null,
          stripe_subscription_id: null,
          billing_grace_ends_at: null,
          billing_payment_failed_at: null,
        },
        // A tenant whose customer is another one is not touched (and `tenantId` null matches no row).
        allOf(fragment("id = ?", tenantId), fragment("stripe_customer_id = ?", customerId)),
      ),
    ],
    outcomeSql: "CASE WHEN changes() > 0 THEN 'applied' ELSE 'unchanged' END",
    outcomeArgs: [],
  };
}
