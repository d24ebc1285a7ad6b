import type Stripe from "stripe";
import type { BillingConfig } from "../config";

/** A paid plan, the only plans Stripe sells. */
export type PaidPlan = "pro" | "team";

/**
 * What a subscription status means for the tenant's plan:
 * - `grant`: the paid plan is in force (`active`, `trialing`);
 * - `grace`: payment is failing; the paid plan stays until the grace period ends (`past_due`);
 * - `revoke`: the tenant returns to `free` (`canceled`, `unpaid`, `incomplete_expired`, `paused`);
 * - `pending`: nothing is paid yet, nothing changes (`incomplete`, or a status Stripe adds later).
 */
export type PlanEffect = "grant" | "grace" | "revoke" | "pending";

export function planEffect(status: Stripe.Subscription.Status): PlanEffect {
  switch (status) {
    case "active":
    case "trialing":
      return "grant";
    case "past_due":
      return "grace";
    case "canceled":
    case "unpaid":
    case "incomplete_expired":
    // A paused subscription (trial ended without a payment method) collects nothing: no paid plan.
    case "paused":
      return "revoke";
    default:
      return "pending";
  }
}

/**
 * Statuses under which a customer already subscribes: Checkout sends the
 * tenant to the portal instead of selling a second subscription, and
 * reconciliation takes the newest such subscription as the one that counts.
 * `incomplete` is left out on purpose: it is a checkout whose first payment
 * never went through (Stripe expires it after 23 hours), so the person must
 * be able to start a new one rather than be sent to a portal with nothing to
 * manage. The one list: Checkout and reconciliation once kept two copies.
 */
const SUBSCRIBED_STATUSES: ReadonlySet<Stripe.Subscription.Status> = new Set([
  "active",
  "trialing",
  "past_due",
  "unpaid",
  "paused",
]);

export function isSubscribed(status: Stripe.Subscription.Status): boolean {
  return SUBSCRIBED_STATUSES.has(status);
}

/** The plan a price id is sold as, or null for a price this deployment does not sell. */
export function planForPrice(prices: BillingConfig["prices"], priceId: string | null): PaidPlan | null {
  if (priceId === prices.pro) return "pro";
  if (priceId === prices.team) return "team";
  return null;
}

/** The subscription's first item's price (Muninn sells one plan per subscription). */
export function subscriptionPrice(subscription: Stripe.Subscription): string | null {
  return subscription.items?.data?.[0]?.price?.id ?? null;
}

/** The end of the current period: on the items since API version 2025-03-31 (all items share it here). */
export function currentPeriodEnd(subscription: Stripe.Subscription): number | null {
  const ends = (subscription.items?.data ?? []).map((item) => item.current_period_end).filter(Number.isFinite);
  return ends.length > 0 ? Math.max(...ends) : null;
}

const TERMINAL = new Set(["canceled", "incomplete_expired"]);

/**
 * The ordering key of a subscription state: the event's `created`, then
 * whether the state is terminal (a cancellation in the same second as an
 * update wins), then the latest of the object's own timestamps. Fixed-width,
 * so SQL compares the strings in the same order as the tuples.
 *
 * Stripe does not promise delivery order, and `created` has a resolution of
 * one second, so the object's timestamps break ties between two events of the
 * same second (a renewal moves `current_period_start`, a cancellation sets
 * `canceled_at` / `ended_at`). What still ties is settled by the update's
 * `previous_attributes.status` (see `processStripeEvent`).
 */
export function stateVersion(eventCreated: number, subscription: Stripe.Subscription): string {
  const periodStarts = (subscription.items?.data ?? []).map((item) => item.current_period_start);
  const objectTime = Math.max(
    subscription.created ?? 0,
    subscription.start_date ?? 0,
    subscription.canceled_at ?? 0,
    subscription.ended_at ?? 0,
    subscription.trial_start ?? 0,
    ...periodStarts.filter(Number.isFinite),
  );
  const terminal = TERMINAL.has(subscription.status) ? 1 : 0;
  return `${pad(eventCreated)}.${terminal}.${pad(objectTime)}`;
}

/** The smallest version of a terminal state at `eventCreated`: every older non-terminal state sorts below it. */
export function terminalVersion(eventCreated: number): string {
  return `${pad(eventCreated)}.1.${pad(0)}`;
}

function pad(seconds: number): string {
  return String(Math.max(0, Math.floor(seconds))).padStart(12, "0");
}

/** The id of an expandable Stripe field (`"cus_123"` or `{ id: "cus_123", … }`). */
export function idOf(value: string | { id: string } | null | undefined): string | null {
  if (value == null) return null;
  return typeof value === "string" ? value : value.id;
}
