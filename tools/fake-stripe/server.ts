/**
 * A small fake of the Stripe API for development and tests: the endpoints
 * Muninn calls (customers, Checkout Sessions, billing portal sessions,
 * subscriptions, events), taking the form-encoded requests the `stripe` SDK
 * sends and answering Stripe's object shapes (API version 2026-10-28). It
 * also plays the customer: its checkout page "pays", and it signs and
 * delivers the resulting webhooks the way Stripe does. See README.md here.
 */
import { createHmac, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type FormObject, parseStripeForm, record, text } from "./form";
import { escapeHtml, fakePage, money } from "./pages";

export interface FakeStripeOptions {
  /** 0 picks a free port. */
  port?: number;
  /** The secret key clients must send (`Authorization: Bearer sk_test_…`). */
  apiKey: string;
  /** Signs delivered webhooks (`Stripe-Signature`). */
  webhookSecret: string;
  /** Where to deliver webhooks; without it events are only stored (tests post them themselves). */
  webhookUrl?: string;
  prices: { pro: string; team: string };
  /** Keep customers, sessions, subscriptions and events in this JSON file across restarts (`npm run dev`). */
  stateFile?: string;
}

export interface FakeStripe {
  url: string;
  port: number;
  close(): Promise<void>;
}

type StripeObject = Record<string, unknown> & { id: string };
const API_VERSION = "2026-10-28.endive";
const DAY = 24 * 60 * 60;
const MONTH = 30 * DAY;

class NotFound extends Error {}

export async function startFakeStripe(options: FakeStripeOptions): Promise<FakeStripe> {
  const customers = new Map<string, StripeObject>();
  const sessions = new Map<string, StripeObject>();
  const portals = new Map<string, StripeObject>();
  const subscriptions = new Map<string, StripeObject>();
  const events = new Map<string, StripeObject>();
  const idempotent = new Map<string, { status: number; body: unknown }>();
  const stores = { customers, sessions, portals, subscriptions, events };
  let base = "";

  if (options.stateFile && existsSync(options.stateFile)) {
    const saved = JSON.parse(readFileSync(options.stateFile, "utf8")) as Record<string, StripeObject[]>;
    for (const [name, store] of Object.entries(stores)) {
      for (const object of saved[name] ?? []) store.set(object.id, object);
    }
  }
  const save = () => {
    if (!options.stateFile) return;
    const snapshot = Object.fromEntries(Object.entries(stores).map(([name, store]) => [name, [...store.values()]]));
    writeFileSync(options.stateFile, JSON.stringify(snapshot), { mode: 0o600 });
  };

  const now = () => Math.floor(Date.now() / 1000);
  const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString("hex")}`;

  function price(id: string): StripeObject {
    const plan = id === options.prices.team ? "team" : "pro";
    return {
      id,
      object: "price",
      active: true,
      billing_scheme: "per_unit",
      created: 1_700_000_000,
      currency: "usd",
      livemode: false,
      lookup_key: `muninn_${plan}_monthly`,
      metadata: {},
      nickname: `Muninn ${plan}`,
      product: `prod_muninn_${plan}`,
      recurring: { interval: "month", interval_count: 1, meter: null, usage_type: "licensed" },
      tax_behavior: "unspecified",
      type: "recurring",
      unit_amount: plan === "team" ? 9900 : 1900,
      unit_amount_decimal: plan === "team" ? "9900" : "1900",
    };
  }

  function newEvent(type: string, object: StripeObject, previous?: Record<string, unknown>): StripeObject {
    const event: StripeObject = {
      id: newId("evt"),
      object: "event",
      api_version: API_VERSION,
      created: now(),
      data: { object: structuredClone(object), ...(previous ? { previous_attributes: previous } : {}) },
      livemode: false,
      pending_webhooks: options.webhookUrl ? 1 : 0,
      request: { id: null, idempotency_key: null },
      type,
    };
    events.set(event.id, event);
    return event;
  }

  /** Deliver in order, as Stripe would for one change; a failed delivery is reported, not retried. */
  async function deliver(batch: StripeObject[]): Promise<{ id: string; status: number | null }[]> {
    if (!options.webhookUrl) return batch.map((event) => ({ id: event.id, status: null }));
    const results = [];
    for (const event of batch) {
      const payload = JSON.stringify(event);
      try {
        const response = await fetch(options.webhookUrl, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "stripe-signature": signature(payload, options.webhookSecret),
          },
          body: payload,
        });
        results.push({ id: event.id, status: response.status });
      } catch {
        results.push({ id: event.id, status: null });
      }
    }
    return results;
  }

  function createSubscription(customer: string, priceId: string, metadata: Record<string, string>, status = "active") {
    const created = now();
    const id = newId("sub");
    const subscription: StripeObject = {
      id,
      object: "subscription",
      application: null,
      application_fee_percent: null,
      automatic_tax: { disabled_reason: null, enabled: false, liability: null },
      billing_cycle_anchor: created,
      billing_cycle_anchor_config: null,
      billing_mode: { flexible: null, type: "classic" },
      billing_thresholds: null,
      cancel_at: null,
      cancel_at_period_end: false,
      canceled_at: null,
      cancellation_details: { comment: null, feedback: null, reason: null },
      collection_method: "charge_automatically",
      created,
      currency: "usd",
      customer,
      days_until_due: null,
      default_payment_method: `pm_${randomBytes(8).toString("hex")}`,
      default_source: null,
      description: null,
      discounts: [],
      ended_at: null,
      invoice_settings: { account_tax_ids: null, issuer: { type: "self" } },
      items: {
        object: "list",
        data: [
          {
            id: newId("si"),
            object: "subscription_item",
            created,
            current_period_end: created + MONTH,
            current_period_start: created,
            discounts: [],
            metadata: {},
            price: price(priceId),
            quantity: 1,
            subscription: id,
            tax_rates: [],
          },
        ],
        has_more: false,
        total_count: 1,
        url: `/v1/subscription_items?subscription=${id}`,
      },
      latest_invoice: null,
      livemode: false,
      metadata,
      next_pending_invoice_item_invoice: null,
      on_behalf_of: null,
      pause_collection: null,
      payment_settings: null,
      pending_invoice_item_interval: null,
      pending_setup_intent: null,
      pending_update: null,
      schedule: null,
      start_date: created,
      status,
      test_clock: null,
      transfer_data: null,
      trial_end: null,
      trial_settings: { end_behavior: { missing_payment_method: "create_invoice" } },
      trial_start: null,
    };
    subscriptions.set(id, subscription);
    return subscription;
  }

  function invoiceFor(subscription: StripeObject, status: "paid" | "open"): StripeObject {
    const created = now();
    const amount = Number((firstItem(subscription).price as StripeObject).unit_amount);
    return {
      id: newId("in"),
      object: "invoice",
      amount_due: amount,
      amount_paid: status === "paid" ? amount : 0,
      amount_remaining: status === "paid" ? 0 : amount,
      attempt_count: 1,
      attempted: true,
      billing_reason: "subscription_cycle",
      collection_method: "charge_automatically",
      created,
      currency: "usd",
      customer: subscription.customer,
      livemode: false,
      metadata: {},
      parent: {
        type: "subscription_details",
        quote_details: null,
        subscription_details: { metadata: subscription.metadata, subscription: subscription.id },
      },
      period_end: created,
      period_start: created - MONTH,
      status,
      total: amount,
    };
  }

  function setStatus(subscription: StripeObject, status: string): StripeObject[] {
    const previous = { status: subscription.status };
    subscription.status = status;
    const out: StripeObject[] = [];
    if (status === "canceled") {
      subscription.canceled_at = now();
      subscription.ended_at = now();
      out.push(newEvent("customer.subscription.deleted", subscription, previous));
    } else {
      if (status === "past_due") out.push(newEvent("invoice.payment_failed", invoiceFor(subscription, "open")));
      if (status === "active" && previous.status === "past_due") {
        out.push(newEvent("invoice.paid", invoiceFor(subscription, "paid")));
      }
      out.push(newEvent("customer.subscription.updated", subscription, previous));
    }
    return out;
  }

  function completeCheckout(session: StripeObject): StripeObject[] {
    if (session.status !== "open") throw new Error("this checkout session is not open");
    const line = ((session.line_items as StripeObject[] | undefined) ?? [])[0];
    const priceId = String(line?.price ?? options.prices.pro);
    const subscription = createSubscription(
      String(session.customer),
      priceId,
      record((session.subscription_data as FormObject | undefined)?.metadata),
    );
    const invoice = invoiceFor(subscription, "paid");
    subscription.latest_invoice = invoice.id;
    Object.assign(session, {
      status: "complete",
      payment_status: "paid",
      subscription: subscription.id,
      invoice: invoice.id,
    });
    delete session.line_items;
    return [
      newEvent("customer.subscription.created", subscription),
      newEvent("invoice.paid", invoice),
      newEvent("checkout.session.completed", session),
    ];
  }

  async function api(method: string, path: string, form: FormObject, query: URLSearchParams): Promise<unknown> {
    const [, , resource, id, action] = path.split("/");
    const find = (map: Map<string, StripeObject>, what: string, key = id) => {
      const found = key ? map.get(key) : undefined;
      if (!found) throw new NotFound(`No such ${what}: '${key}'`);
      return found;
    };
    if (resource === "customers") {
      if (method === "POST" && !id) {
        const customer: StripeObject = {
          id: newId("cus"),
          object: "customer",
          address: null,
          balance: 0,
          created: now(),
          currency: null,
          default_source: null,
          delinquent: false,
          description: null,
          email: text(form.email) ?? null,
          invoice_prefix: randomBytes(4).toString("hex").toUpperCase(),
          invoice_settings: {
            custom_fields: null,
            default_payment_method: null,
            footer: null,
            rendering_options: null,
          },
          livemode: false,
          metadata: record(form.metadata),
          name: text(form.name) ?? null,
          phone: null,
          preferred_locales: [],
          shipping: null,
          tax_exempt: "none",
          test_clock: null,
        };
        customers.set(customer.id, customer);
        return customer;
      }
      if (method === "GET" && id) return find(customers, "customer");
      if (method === "DELETE" && id) {
        const customer = find(customers, "customer");
        customers.delete(customer.id);
        const batch: StripeObject[] = [];
        for (const subscription of subscriptions.values()) {
          if (subscription.customer === customer.id && subscription.status !== "canceled") {
            batch.push(...setStatus(subscription, "canceled"));
          }
        }
        batch.push(newEvent("customer.deleted", customer));
        await deliver(batch);
        return { id: customer.id, object: "customer", deleted: true };
      }
    }
    if (resource === "checkout" && id === "sessions") {
      const sessionId = action;
      if (method === "POST" && !sessionId) {
        const customer = text(form.customer);
        if (!customer || !customers.has(customer)) throw new NotFound(`No such customer: '${customer}'`);
        if (text(form.mode) !== "subscription") throw new Error("mode: this fake sells subscriptions only");
        const created = now();
        const session: StripeObject = {
          id: `cs_test_${randomBytes(24).toString("hex")}`,
          object: "checkout.session",
          allow_promotion_codes: null,
          amount_subtotal: null,
          amount_total: null,
          billing_address_collection: null,
          cancel_url: text(form.cancel_url) ?? null,
          client_reference_id: text(form.client_reference_id) ?? null,
          created,
          currency: "usd",
          customer,
          customer_email: null,
          expires_at: created + DAY,
          invoice: null,
          livemode: false,
          locale: null,
          metadata: record(form.metadata),
          mode: "subscription",
          payment_status: "unpaid",
          status: "open",
          subscription: null,
          success_url: text(form.success_url) ?? null,
          ui_mode: "hosted",
          url: "",
          line_items: Array.isArray(form.line_items) ? form.line_items : [],
          subscription_data: form.subscription_data ?? {},
        };
        session.url = `${base}/checkout/${session.id}`;
        sessions.set(session.id, session);
        return publicSession(session);
      }
      if (method === "GET" && sessionId) return publicSession(find(sessions, "checkout.session", sessionId));
    }
    if (resource === "billing_portal" && id === "sessions" && method === "POST") {
      const customer = text(form.customer);
      if (!customer || !customers.has(customer)) throw new NotFound(`No such customer: '${customer}'`);
      const portal: StripeObject = {
        id: newId("bps"),
        object: "billing_portal.session",
        configuration: "bpc_fake_default",
        created: now(),
        customer,
        flow: null,
        livemode: false,
        locale: null,
        on_behalf_of: null,
        return_url: text(form.return_url) ?? null,
        url: "",
      };
      portal.url = `${base}/portal/${portal.id}`;
      portals.set(portal.id, portal);
      return portal;
    }
    if (resource === "subscriptions") {
      if (method === "GET" && !id) {
        const customer = query.get("customer");
        const status = query.get("status");
        const data = [...subscriptions.values()]
          .filter((subscription) => !customer || subscription.customer === customer)
          .filter((subscription) =>
            status === "all" ? true : status ? subscription.status === status : subscription.status !== "canceled",
          )
          .sort((a, b) => Number(b.created) - Number(a.created) || (a.id < b.id ? 1 : -1));
        const limit = Number(query.get("limit") ?? 10);
        return { object: "list", data: data.slice(0, limit), has_more: data.length > limit, url: "/v1/subscriptions" };
      }
      if (method === "GET" && id) return find(subscriptions, "subscription");
      if (method === "DELETE" && id) {
        const subscription = find(subscriptions, "subscription");
        await deliver(setStatus(subscription, "canceled"));
        return subscription;
      }
      if (method === "POST" && id) {
        const subscription = find(subscriptions, "subscription");
        const previous: Record<string, unknown> = {};
        if (text(form.cancel_at_period_end)) {
          previous.cancel_at_period_end = subscription.cancel_at_period_end;
          subscription.cancel_at_period_end = text(form.cancel_at_period_end) === "true";
        }
        if (form.metadata) subscription.metadata = { ...(subscription.metadata as object), ...record(form.metadata) };
        await deliver([newEvent("customer.subscription.updated", subscription, previous)]);
        return subscription;
      }
    }
    if (resource === "events" && method === "GET" && id) return find(events, "event");
    throw new NotFound(`Unrecognized request URL (${method}: ${path})`);
  }

  /** Test and demo controls (no API key: loopback only, never part of Stripe's API). */
  async function control(method: string, path: string, body: Record<string, unknown>): Promise<unknown> {
    const parts = path.split("/").filter(Boolean);
    if (method === "POST" && parts[1] === "events" && parts.length === 2) {
      const event = body as StripeObject;
      if (typeof event.id !== "string") throw new Error("an event needs an id");
      events.set(event.id, event);
      return event;
    }
    if (method === "POST" && parts[1] === "subscriptions" && parts.length === 2) {
      const customer = String(body.customer);
      const created = createSubscription(
        customer,
        String(body.price ?? options.prices.pro),
        (body.metadata as Record<string, string>) ?? {},
        String(body.status ?? "active"),
      );
      return created;
    }
    if (method === "POST" && parts[1] === "subscriptions" && parts[3] === "status") {
      const subscription = subscriptions.get(parts[2] ?? "");
      if (!subscription) throw new NotFound(`No such subscription: '${parts[2]}'`);
      const batch = setStatus(subscription, String(body.status));
      return { subscription, events: batch, deliveries: await deliver(batch) };
    }
    if (method === "POST" && parts[1] === "checkout" && parts[3] === "complete") {
      const session = sessions.get(parts[2] ?? "");
      if (!session) throw new NotFound(`No such checkout.session: '${parts[2]}'`);
      const batch = completeCheckout(session);
      return { session: publicSession(session), events: batch, deliveries: await deliver(batch) };
    }
    throw new NotFound(`no fake control ${method} ${path}`);
  }

  async function page(method: string, path: string): Promise<string> {
    const [, kind, id, action] = path.split("/");
    if (kind === "checkout") {
      const session = sessions.get(id ?? "");
      if (!session) throw new NotFound("no such checkout session");
      if (method === "POST" && action === "pay") {
        const batch = completeCheckout(session);
        const deliveries = await deliver(batch);
        const lines = deliveries.map(
          (d, i) => `<li>${escapeHtml(batch[i]?.type)}: ${escapeHtml(d.status ?? "stored, not delivered")}</li>`,
        );
        return fakePage(
          "Payment complete",
          `<div class="card"><p>Paid with the test card. Events sent to Muninn:</p><ul>${lines.join("")}</ul>
           <div class="actions"><a class="button" href="${escapeHtml(session.success_url)}">Continue</a></div></div>`,
        );
      }
      const line = ((session.line_items as StripeObject[] | undefined) ?? [])[0];
      const item = price(String(line?.price ?? options.prices.pro));
      const amount = money(Number(item.unit_amount), String(item.currency));
      return fakePage(
        "Checkout",
        `<div class="card"><h2>${escapeHtml(item.nickname)}</h2>
         <p><strong class="price">${escapeHtml(amount)}</strong> a month</p>
         <dl class="facts"><dt>Price</dt><dd><code>${escapeHtml(item.id)}</code></dd>
         <dt>Customer</dt><dd><code>${escapeHtml(session.customer)}</code></dd></dl>
         <form method="post" action="/checkout/${escapeHtml(session.id)}/pay">
         <div class="actions"><button type="submit">Pay ${escapeHtml(amount)} (test card)</button>
         <a class="button secondary" href="${escapeHtml(session.cancel_url)}">Cancel</a></div></form></div>`,
      );
    }
    if (kind === "portal") {
      const portal = portals.get(id ?? "");
      if (!portal) throw new NotFound("no such portal session");
      const owned = [...subscriptions.values()].filter(
        (s) => s.customer === portal.customer && s.status !== "canceled",
      );
      const back = `<div class="actions"><a class="button" href="${escapeHtml(portal.return_url)}">Continue</a></div>`;
      if (method === "POST" && action === "cancel") {
        const batch = owned.flatMap((subscription) => setStatus(subscription, "canceled"));
        await deliver(batch);
        return fakePage("Subscription cancelled", `<div class="card"><p>No further charges.</p>${back}</div>`);
      }
      const rows = owned
        .map((s) => {
          const item = price(String((firstItem(s).price as StripeObject).id));
          const amount = money(Number(item.unit_amount), String(item.currency));
          return `<tr><td>${escapeHtml(item.nickname)}</td><td>${escapeHtml(amount)} a month</td><td>${escapeHtml(s.status)}</td></tr>`;
        })
        .join("");
      return fakePage(
        "Billing portal",
        `<div class="card">${
          rows
            ? `<table><caption>Subscriptions</caption><thead><tr><th scope="col">Plan</th><th scope="col">Price</th><th scope="col">Status</th></tr></thead><tbody>${rows}</tbody></table>
               <form method="post" action="/portal/${escapeHtml(portal.id)}/cancel"><button type="submit" class="danger">Cancel subscription</button></form>`
            : "<p>No subscription.</p>"
        }${back}</div>`,
      );
    }
    throw new NotFound("not found");
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://fake");
    const method = req.method ?? "GET";
    const raw = await readBody(req);
    // Changes are saved before the answer, so a restart never forgets what a client was told.
    const answer = (status: number, body: unknown) => {
      if (method !== "GET") save();
      send(res, status, body);
    };
    try {
      if (url.pathname.startsWith("/v1/")) {
        if (req.headers.authorization !== `Bearer ${options.apiKey}`) {
          return send(res, 401, stripeError("invalid_request_error", "Invalid API Key provided.", "api_key_invalid"));
        }
        const key = req.headers["idempotency-key"];
        const remembered = typeof key === "string" && method === "POST" ? idempotent.get(key) : undefined;
        if (remembered) return send(res, remembered.status, remembered.body);
        const body = await api(method, url.pathname, parseStripeForm(raw), url.searchParams);
        if (typeof key === "string" && method === "POST") idempotent.set(key, { status: 200, body });
        return answer(200, body);
      }
      if (url.pathname.startsWith("/_fake/")) {
        return answer(200, await control(method, url.pathname, raw ? JSON.parse(raw) : {}));
      }
      if (url.pathname === "/success" || url.pathname === "/cancel") {
        return sendHtml(res, fakePage(url.pathname === "/success" ? "Subscribed" : "Checkout cancelled", ""));
      }
      const rendered = await page(method, url.pathname);
      if (method !== "GET") save();
      return sendHtml(res, rendered);
    } catch (error) {
      if (error instanceof NotFound) {
        return send(res, 404, stripeError("invalid_request_error", error.message, "resource_missing"));
      }
      return send(res, 400, stripeError("invalid_request_error", (error as Error).message, "parameter_invalid"));
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  return {
    url: base,
    port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Stripe's signature scheme: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.payload">`. */
function signature(payload: string, secret: string, timestamp = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac("sha256", secret).update(`${timestamp}.${payload}`).digest("hex");
  return `t=${timestamp},v1=${mac}`;
}

function firstItem(subscription: StripeObject): StripeObject {
  return ((subscription.items as { data: StripeObject[] }).data[0] ?? {}) as StripeObject;
}

/** The session as Stripe returns it: line items are not part of the object (they are expandable). */
function publicSession(session: StripeObject): StripeObject {
  const { line_items: _lineItems, subscription_data: _subscriptionData, ...visible } = session;
  return visible as StripeObject;
}

function stripeError(type: string, message: string, code: string) {
  return { error: { type, code, message, doc_url: `https://docs.stripe.com/error-codes/${code.replace(/_/g, "-")}` } };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      data += chunk;
    });
    req.on("end", () => resolve(data));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json", "request-id": `req_${randomBytes(7).toString("hex")}` });
  res.end(JSON.stringify(body));
}

function sendHtml(res: ServerResponse, body: string) {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  res.end(body);
}
