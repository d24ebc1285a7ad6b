import { env } from "cloudflare:workers";
import Stripe from "stripe";
import { createApiKey } from "../../shared/tenants/api-keys";
import { ADMIN, newTenant, openMgmtDb, workerFetch } from "./support";

/** Shared fixtures for billing tests: owner keys, signed deliveries, Stripe-shaped objects, the fake's controls. */
const vars = env as unknown as {
  STRIPE_API_BASE: string;
  STRIPE_WEBHOOK_SECRET: string;
  STRIPE_PRICE_PRO: string;
  STRIPE_PRICE_TEAM: string;
};
export const webhookSecret = vars.STRIPE_WEBHOOK_SECRET;
export const prices = { pro: vars.STRIPE_PRICE_PRO, team: vars.STRIPE_PRICE_TEAM };
const stripe = new Stripe("sk_test_unused_for_signing", { httpClient: Stripe.createFetchHttpClient() });
const crypto = Stripe.createSubtleCryptoProvider();

/** A tenant and an owner key (`keys:manage`) for its billing routes. */
export async function ownerTenant(plan: "free" | "pro" | "team" = "free") {
  const created = await newTenant(plan);
  const owner = await createApiKey(openMgmtDb(), created.tenant.id, {
    name: "owner",
    scopes: ["mcp:tools", "keys:manage"],
  });
  return { ...created, ownerKey: owner.key };
}

export function apiFetch(path: string, key: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${key}`);
  if (init.body) headers.set("content-type", "application/json");
  return workerFetch(path, { ...init, headers });
}

export function adminFetch(path: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  headers.set("authorization", ADMIN.authorization);
  return workerFetch(path, { ...init, headers });
}

/** Sign `payload` as Stripe would (`Stripe-Signature`), with the given secret and time. */
export function signatureFor(payload: string, options: { secret?: string; timestamp?: number } = {}) {
  return stripe.webhooks.generateTestHeaderStringAsync({
    payload,
    secret: options.secret ?? webhookSecret,
    timestamp: options.timestamp ?? Math.floor(Date.now() / 1000),
    cryptoProvider: crypto,
  });
}

/** Deliver an event to `/webhooks/stripe`, signed (unless `signature` is given). */
export async function deliver(
  event: unknown,
  options: { secret?: string; timestamp?: number; signature?: string } = {},
) {
  const payload = JSON.stringify(event);
  const signature = options.signature ?? (await signatureFor(payload, options));
  return workerFetch("/webhooks/stripe", {
    method: "POST",
    headers: { "content-type": "application/json", "stripe-signature": signature },
    body: payload,
  });
}

let sequence = 0;
export function eventId(): string {
  sequence += 1;
  return `evt_test_${Date.now().toString(36)}${sequence}${Math.random().toString(36).slice(2, 8)}`;
}

export function event(type: string, object: object, created = Math.floor(Date.now() / 1000)) {
  return {
    id: eventId(),
    object: "event",
    api_version: "2026-10-28.endive",
    created,
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  };
}

export interface SubscriptionShape {
  id: string;
  customer: string;
  tenantId: string;
  status: string;
  price?: string;
  created?: number;
  periodStart?: number;
  canceledAt?: number | null;
  cancelAtPeriodEnd?: boolean;
}

/** A subscription object in Stripe's shape (API 2026-10-28: periods live on the items). */
export function subscription(shape: SubscriptionShape) {
  const created = shape.created ?? 1_790_000_000;
  const periodStart = shape.periodStart ?? created;
  return {
    id: shape.id,
    object: "subscription",
    cancel_at: null,
    cancel_at_period_end: shape.cancelAtPeriodEnd ?? false,
    canceled_at: shape.canceledAt ?? null,
    created,
    currency: "usd",
    customer: shape.customer,
    ended_at: shape.status === "canceled" ? (shape.canceledAt ?? periodStart) : null,
    items: {
      object: "list",
      data: [
        {
          id: `si_${shape.id}`,
          object: "subscription_item",
          created,
          current_period_start: periodStart,
          current_period_end: periodStart + 30 * 86_400,
          price: { id: shape.price ?? prices.pro, object: "price", recurring: { interval: "month" } },
          quantity: 1,
          subscription: shape.id,
        },
      ],
      has_more: false,
      total_count: 1,
    },
    livemode: false,
    metadata: { tenant_id: shape.tenantId },
    start_date: created,
    status: shape.status,
    trial_end: null,
    trial_start: null,
  };
}

export function invoice(options: { customer: string; subscriptionId: string; tenantId: string; status: string }) {
  return {
    id: `in_${Math.random().toString(36).slice(2)}`,
    object: "invoice",
    customer: options.customer,
    status: options.status,
    amount_due: 1900,
    amount_paid: options.status === "paid" ? 1900 : 0,
    parent: {
      type: "subscription_details",
      quote_details: null,
      subscription_details: { metadata: { tenant_id: options.tenantId }, subscription: options.subscriptionId },
    },
  };
}

export function uniqueId(prefix: string): string {
  return `${prefix}_${Math.random().toString(36).slice(2, 12)}${Date.now().toString(36)}`;
}

/** The fake Stripe's test controls (tools/fake-stripe). */
export async function fakeStripe<T = Record<string, unknown>>(path: string, body: unknown = {}): Promise<T> {
  const response = await fetch(`${vars.STRIPE_API_BASE}/_fake${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`fake stripe ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export async function tenantRow(tenantId: string) {
  const result = await openMgmtDb().execute({ sql: "SELECT * FROM tenants WHERE id = ?", args: [tenantId] }, "read");
  return result.rows[0] as Record<string, unknown>;
}

export async function eventRow(id: string) {
  const result = await openMgmtDb().execute(
    { sql: "SELECT * FROM stripe_events WHERE event_id = ?", args: [id] },
    "read",
  );
  return result.rows[0] as Record<string, unknown> | undefined;
}

/** A tenant linked to a Stripe customer, the way checkout leaves it. */
export async function customerTenant(plan: "free" | "pro" | "team" = "free") {
  const owner = await ownerTenant(plan);
  const customer = uniqueId("cus");
  await openMgmtDb().execute(
    {
      sql: "UPDATE tenants SET stripe_customer_id = ? WHERE id = ?",
      args: [customer, owner.tenant.id],
    },
    "write",
  );
  return { ...owner, customer, tenantId: owner.tenant.id };
}
