import { afterEach, describe, expect, it, vi } from "vitest";
import {
  customerTenant,
  deliver,
  event,
  eventRow,
  invoice,
  prices,
  signatureFor,
  subscription,
  tenantRow,
  uniqueId,
} from "./billing-support";
import { afterOneLeaseLifetime, asTenant, METRICS_AUTH, openMgmtDb, workerFetch } from "./support";

afterEach(() => {
  vi.useRealTimers();
});

/** The plan the tenant's requests are admitted under, a lease lifetime after the last change. */
async function planInForce(key: string): Promise<{ plan: string; limit: number; warnings: string[] }> {
  afterOneLeaseLifetime();
  const response = await workerFetch(`/api/me`, { headers: asTenant(key) });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { plan: string; rate_limit: { limit: number }; warnings: string[] };
  return { plan: body.plan, limit: body.rate_limit.limit, warnings: body.warnings };
}

async function webhookAudit(tenantId: string) {
  const result = await openMgmtDb().execute(
    {
      sql: "SELECT * FROM audit_log WHERE action = 'webhook' AND tenant_id = ? ORDER BY id",
      args: [tenantId],
    },
    "read",
  );
  return result.rows.map((row) => ({ target: row.target, ...JSON.parse(String(row.metadata)) }));
}

function active(
  t: { customer: string; tenantId: string },
  id: string,
  extra: Partial<Parameters<typeof subscription>[0]> = {},
) {
  return subscription({ id, customer: t.customer, tenantId: t.tenantId, status: "active", ...extra });
}

describe("Stripe webhook signature", () => {
  it("accepts a correctly signed event and records it once", async () => {
    const t = await customerTenant();
    const created = event("customer.subscription.created", active(t, uniqueId("sub")));
    const response = await deliver(created);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ received: true, event_id: created.id, outcome: "applied" });
    expect(await eventRow(created.id)).toMatchObject({
      status: "processed",
      outcome: "applied",
      tenant_id: t.tenantId,
    });
  });

  it("refuses a tampered body, a wrong secret, an expired timestamp and a missing header with 400 'Invalid signature'", async () => {
    const t = await customerTenant();
    const warn = vi.spyOn(console, "warn");
    const genuine = event("customer.subscription.created", active(t, uniqueId("sub")));
    const payload = JSON.stringify(genuine);
    const signed = await signatureFor(payload);
    const tampered = payload.replace(prices.pro, prices.team);
    const attempts = [
      { name: "tampered body", body: tampered, signature: signed },
      { name: "wrong secret", body: payload, signature: await signatureFor(payload, { secret: "whsec_wrong" }) },
      {
        name: "expired timestamp",
        body: payload,
        signature: await signatureFor(payload, { timestamp: Math.floor(Date.now() / 1000) - 301 }),
      },
      { name: "no signature", body: payload, signature: "" },
    ];
    for (const attempt of attempts) {
      const response = await workerFetch(`/webhooks/stripe`, {
        method: "POST",
        headers: { "content-type": "application/json", "stripe-signature": attempt.signature },
        body: attempt.body,
      });
      expect(response.status, attempt.name).toBe(400);
      expect(await response.json()).toMatchObject({
        error: { code: "invalid_signature", message: "Invalid signature" },
      });
    }
    const logged = warn.mock.calls.map((call) => String(call[0])).filter((line) => line.includes("Invalid signature"));
    expect(logged).toHaveLength(attempts.length);
    warn.mockRestore();
    expect(await eventRow(genuine.id)).toBeUndefined();
    expect((await tenantRow(t.tenantId)).plan).toBe("free");
  });
});

describe("Stripe webhook size", () => {
  it("refuses a body far bigger than any Stripe event with 413, before verifying it", async () => {
    const huge = JSON.stringify({ id: "evt_huge", padding: "x".repeat(600 * 1024) });
    const response = await deliver(JSON.parse(huge), { signature: await signatureFor(huge) });
    expect(response.status).toBe(413);
    expect(await eventRow("evt_huge")).toBeUndefined();
  });
});

describe("Stripe webhook idempotency", () => {
  it("answers a duplicate delivery 200 and changes nothing the second time", async () => {
    const t = await customerTenant();
    const id = uniqueId("sub");
    const created = event("customer.subscription.created", active(t, id, { price: prices.team }));
    expect((await deliver(created)).status).toBe(200);
    const again = await deliver(created);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ outcome: "duplicate" });
    expect((await tenantRow(t.tenantId)).plan).toBe("team");
    expect(await webhookAudit(t.tenantId)).toHaveLength(1);
  });

  it("applies 50 concurrent deliveries of the same event exactly once", async () => {
    const t = await customerTenant();
    const created = event("customer.subscription.created", active(t, uniqueId("sub")));
    const responses = await Promise.all(Array.from({ length: 50 }, () => deliver(created)));
    const outcomes = await Promise.all(
      responses.map(async (r) => ({ status: r.status, ...((await r.json()) as object) })),
    );
    expect(outcomes.every((o) => o.status === 200)).toBe(true);
    expect(outcomes.filter((o) => (o as { outcome?: string }).outcome === "applied")).toHaveLength(1);
    expect(outcomes.filter((o) => (o as { outcome?: string }).outcome === "duplicate")).toHaveLength(49);
    expect(await webhookAudit(t.tenantId)).toHaveLength(1);
    expect(await eventRow(created.id)).toMatchObject({ status: "processed", attempts: 1 });
    expect((await tenantRow(t.tenantId)).plan).toBe("pro");
  });

  it("rolls a failure in the middle of processing back whole, answers 500, keeps the error, and the retry applies", async () => {
    const t = await customerTenant();
    const id = uniqueId("sub");
    const created = event("customer.subscription.created", active(t, id));
    const db = openMgmtDb();
    // A real failure inside the transaction: after the subscription and tenant rows are written, the audit insert fails.
    const trigger = `fail_audit_${t.tenantId}`;
    await db.execute(
      `CREATE TRIGGER ${trigger} BEFORE INSERT ON audit_log WHEN NEW.tenant_id = '${t.tenantId}'
       BEGIN SELECT RAISE(ABORT, 'injected audit failure'); END`,
      "write",
    );
    const error = vi.spyOn(console, "error");
    try {
      const failed = await deliver(created);
      expect(failed.status).toBe(500);
      expect(await failed.json()).toMatchObject({ error: { code: "webhook_processing_failed" } });
    } finally {
      await db.execute(`DROP TRIGGER ${trigger}`, "write");
    }
    const lines = error.mock.calls.map((call) => String(call[0]));
    expect(lines.some((line) => line.includes("Webhook processing failed") && line.includes(created.id))).toBe(true);
    error.mockRestore();
    expect(await eventRow(created.id)).toMatchObject({ status: "failed" });
    expect(String((await eventRow(created.id))?.error)).toContain("injected audit failure");
    expect((await tenantRow(t.tenantId)).plan).toBe("free");
    const subs = await db.execute(
      { sql: "SELECT * FROM billing_subscriptions WHERE subscription_id = ?", args: [id] },
      "read",
    );
    expect(subs.rows).toHaveLength(0);

    const retried = await deliver(created);
    expect(retried.status).toBe(200);
    expect(await retried.json()).toMatchObject({ outcome: "applied" });
    expect(await eventRow(created.id)).toMatchObject({ status: "processed", attempts: 2, error: null });
    expect((await tenantRow(t.tenantId)).plan).toBe("pro");
    expect(await planInForce(t.ownerKey)).toMatchObject({ plan: "pro", limit: 300 });
  });
});

describe("Stripe webhook ordering", () => {
  it("ignores an old subscription update that arrives after the deletion", async () => {
    const t = await customerTenant();
    const id = uniqueId("sub");
    const now = Math.floor(Date.now() / 1000);
    expect((await deliver(event("customer.subscription.created", active(t, id), now - 100))).status).toBe(200);
    const deleted = subscription({
      id,
      customer: t.customer,
      tenantId: t.tenantId,
      status: "canceled",
      canceledAt: now - 10,
    });
    expect((await deliver(event("customer.subscription.deleted", deleted, now - 10))).status).toBe(200);
    const late = await deliver(event("customer.subscription.updated", active(t, id, { price: prices.team }), now - 50));
    expect(late.status).toBe(200);
    expect(await late.json()).toMatchObject({ outcome: "stale" });
    expect((await tenantRow(t.tenantId)).plan).toBe("free");
    expect(await planInForce(t.ownerKey)).toMatchObject({ plan: "free", limit: 60 });
  });

  it("keeps the newer of two updates delivered in reverse order", async () => {
    const t = await customerTenant();
    const id = uniqueId("sub");
    const now = Math.floor(Date.now() / 1000);
    const newer = event("customer.subscription.updated", active(t, id, { price: prices.team }), now - 5);
    const older = event("customer.subscription.updated", active(t, id, { price: prices.pro }), now - 20);
    expect(await (await deliver(newer)).json()).toMatchObject({ outcome: "applied" });
    expect(await (await deliver(older)).json()).toMatchObject({ outcome: "stale" });
    expect((await tenantRow(t.tenantId)).plan).toBe("team");
    const audit = await webhookAudit(t.tenantId);
    expect(audit.map((entry) => entry.outcome)).toEqual(["applied", "stale"]);
  });

  it("orders two updates of the same second by the subscription's own timestamps", async () => {
    const t = await customerTenant();
    const id = uniqueId("sub");
    const second = Math.floor(Date.now() / 1000);
    const renewed = event(
      "customer.subscription.updated",
      active(t, id, { price: prices.team, periodStart: second }),
      second,
    );
    const before = event(
      "customer.subscription.updated",
      active(t, id, { price: prices.pro, periodStart: second - 30 * 86_400 }),
      second,
    );
    await deliver(renewed);
    expect(await (await deliver(before)).json()).toMatchObject({ outcome: "stale" });
    expect((await tenantRow(t.tenantId)).plan).toBe("team");
  });

  it("orders two updates of the same second with the same timestamps by the status each started from", async () => {
    const t = await customerTenant();
    const id = uniqueId("sub");
    const second = Math.floor(Date.now() / 1000);
    await deliver(event("customer.subscription.created", active(t, id), second));
    const failing = {
      ...event("customer.subscription.updated", active(t, id, { status: "past_due" }), second),
      data: { object: active(t, id, { status: "past_due" }), previous_attributes: { status: "active" } },
    };
    expect(await (await deliver(failing)).json()).toMatchObject({ outcome: "applied" });
    // The creation delivered late (same second, no previous status) is not newer.
    expect(await (await deliver(event("customer.subscription.created", active(t, id), second))).json()).toMatchObject({
      outcome: "stale",
    });
    const rows = await openMgmtDb().execute(
      { sql: "SELECT status FROM billing_subscriptions WHERE subscription_id = ?", args: [id] },
      "read",
    );
    expect(rows.rows[0]?.status).toBe("past_due");
  });
});

describe("Stripe webhook event types", () => {
  it("created/updated/deleted move the plan, reach the Durable Object at once (in force within a lease lifetime), and are audited with plan before/after", async () => {
    const t = await customerTenant();
    const id = uniqueId("sub");
    const now = Math.floor(Date.now() / 1000);
    expect(await planInForce(t.ownerKey)).toMatchObject({ plan: "free", limit: 60 });
    await deliver(event("customer.subscription.created", active(t, id), now - 30));
    expect(await planInForce(t.ownerKey)).toMatchObject({ plan: "pro", limit: 300 });
    await deliver(event("customer.subscription.updated", active(t, id, { price: prices.team }), now - 20));
    expect(await planInForce(t.ownerKey)).toMatchObject({ plan: "team", limit: 1000 });
    const ended = subscription({ id, customer: t.customer, tenantId: t.tenantId, status: "canceled", canceledAt: now });
    await deliver(event("customer.subscription.deleted", ended, now - 10));
    expect(await planInForce(t.ownerKey)).toMatchObject({ plan: "free", limit: 60 });
    const audit = await webhookAudit(t.tenantId);
    expect(audit.map((entry) => [entry.type, entry.before.plan, entry.after.plan])).toEqual([
      ["customer.subscription.created", "free", "pro"],
      ["customer.subscription.updated", "pro", "team"],
      ["customer.subscription.deleted", "team", "free"],
    ]);
    expect(audit.every((entry) => typeof entry.eventId === "string" && entry.target === t.tenantId)).toBe(true);
  });

  it("trialing grants the plan; unpaid and incomplete_expired return it to free; incomplete changes nothing", async () => {
    const t = await customerTenant();
    const id = uniqueId("sub");
    const now = Math.floor(Date.now() / 1000);
    await deliver(event("customer.subscription.created", active(t, id, { status: "incomplete" }), now - 40));
    expect((await tenantRow(t.tenantId)).plan).toBe("free");
    await deliver(event("customer.subscription.updated", active(t, id, { status: "trialing" }), now - 30));
    expect((await tenantRow(t.tenantId)).plan).toBe("pro");
    await deliver(event("customer.subscription.updated", active(t, id, { status: "unpaid" }), now - 20));
    expect((await tenantRow(t.tenantId)).plan).toBe("free");

    const other = await customerTenant();
    const otherId = uniqueId("sub");
    await deliver(event("customer.subscription.created", active(other, otherId, { status: "active" }), now - 20));
    await deliver(
      event("customer.subscription.updated", active(other, otherId, { status: "incomplete_expired" }), now - 10),
    );
    expect((await tenantRow(other.tenantId)).plan).toBe("free");
  });

  it("past_due keeps the paid plan through the grace period with a warning header; invoice.paid ends it", async () => {
    const t = await customerTenant();
    const id = uniqueId("sub");
    const now = Math.floor(Date.now() / 1000);
    await deliver(event("customer.subscription.created", active(t, id), now - 60));
    await deliver(event("invoice.payment_failed", invoice({ ...t, subscriptionId: id, status: "open" }), now - 50));
    await deliver(event("customer.subscription.updated", active(t, id, { status: "past_due" }), now - 50));
    const row = await tenantRow(t.tenantId);
    expect(row.plan).toBe("pro");
    expect(Date.parse(String(row.billing_grace_ends_at))).toBe((now - 50) * 1000 + 7 * 86_400_000);
    afterOneLeaseLifetime();
    const response = await workerFetch(`/api/me`, {
      headers: asTenant(t.ownerKey),
    });
    expect(response.headers.get("x-muninn-warning")).toContain("Payment failing");
    expect(response.headers.get("x-muninn-warning")).toContain(String(row.billing_grace_ends_at));

    await deliver(event("invoice.paid", invoice({ ...t, subscriptionId: id, status: "paid" }), now - 40));
    await deliver(event("customer.subscription.updated", active(t, id), now - 40));
    expect(await tenantRow(t.tenantId)).toMatchObject({
      plan: "pro",
      billing_grace_ends_at: null,
      billing_payment_failed_at: null,
    });
    expect((await planInForce(t.ownerKey)).warnings.some((w) => w.includes("Payment failing"))).toBe(false);
  });

  it("an invoice.payment_failed older than the last invoice.paid starts no grace period", async () => {
    const t = await customerTenant();
    const id = uniqueId("sub");
    const now = Math.floor(Date.now() / 1000);
    await deliver(event("customer.subscription.created", active(t, id), now - 60));
    await deliver(event("invoice.paid", invoice({ ...t, subscriptionId: id, status: "paid" }), now - 10));
    const late = await deliver(
      event("invoice.payment_failed", invoice({ ...t, subscriptionId: id, status: "open" }), now - 30),
    );
    expect(await late.json()).toMatchObject({ outcome: "stale" });
    expect((await tenantRow(t.tenantId)).billing_grace_ends_at).toBeNull();
  });

  it("checkout.session.completed links the customer and grants the plan from the subscription fetched from Stripe", async () => {
    const t = await customerTenant();
    const { fakeStripe } = await import("./billing-support");
    // Stripe holds the subscription (the fake's control creates it as checkout would, without events).
    const created = await fakeStripe<{ id: string }>("/subscriptions", {
      customer: t.customer,
      price: prices.team,
      metadata: { tenant_id: t.tenantId },
    });
    const session = {
      id: uniqueId("cs_test"),
      object: "checkout.session",
      client_reference_id: t.tenantId,
      customer: t.customer,
      metadata: { tenant_id: t.tenantId },
      mode: "subscription",
      payment_status: "paid",
      status: "complete",
      subscription: created.id,
    };
    const response = await deliver(event("checkout.session.completed", session));
    expect(await response.json()).toMatchObject({ outcome: "applied" });
    expect(await tenantRow(t.tenantId)).toMatchObject({ plan: "team", stripe_subscription_id: created.id });
  });

  it("charge.refunded is recorded and audited without changing the plan", async () => {
    const t = await customerTenant("pro");
    const charge = {
      id: uniqueId("ch"),
      object: "charge",
      customer: t.customer,
      amount_refunded: 1900,
      refunded: true,
    };
    const refunded = event("charge.refunded", charge);
    expect(await (await deliver(refunded)).json()).toMatchObject({ outcome: "unchanged" });
    expect((await tenantRow(t.tenantId)).plan).toBe("pro");
    expect((await webhookAudit(t.tenantId)).map((entry) => entry.type)).toEqual(["charge.refunded"]);
  });

  it("customer.deleted returns the tenant to free, unlinks the customer, and later events about that customer change nothing", async () => {
    const t = await customerTenant();
    const id = uniqueId("sub");
    const now = Math.floor(Date.now() / 1000);
    await deliver(event("customer.subscription.created", active(t, id), now - 60));
    const gone = { id: t.customer, object: "customer", deleted: true };
    expect(await (await deliver(event("customer.deleted", gone, now - 10))).json()).toMatchObject({
      outcome: "applied",
    });
    expect(await tenantRow(t.tenantId)).toMatchObject({
      plan: "free",
      stripe_customer_id: null,
      stripe_subscription_id: null,
    });
    // No tenant owns the customer any more: the late update is recorded and ignored.
    const late = await deliver(event("customer.subscription.updated", active(t, id, { price: prices.team }), now - 30));
    expect(await late.json()).toMatchObject({ outcome: "ignored" });
    expect((await tenantRow(t.tenantId)).plan).toBe("free");
  });

  it("an unknown event type answers 200 and is recorded as ignored", async () => {
    const unknown = event("charge.succeeded", { id: "ch_test", object: "charge" });
    const response = await deliver(unknown);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ outcome: "ignored" });
    expect(await eventRow(unknown.id)).toMatchObject({ status: "ignored", type: "charge.succeeded" });
  });

  it("counts deliveries in stripe_webhooks_total by event and outcome", async () => {
    const t = await customerTenant();
    const created = event("customer.subscription.created", active(t, uniqueId("sub")));
    await deliver(created);
    await deliver(created);
    await deliver(event("some.new_type", { id: "x" }));
    const metrics = await (await workerFetch(`/metrics`, { headers: METRICS_AUTH })).text();
    expect(metrics).toMatch(/stripe_webhooks_total\{event="customer.subscription.created",outcome="applied"\} [1-9]/);
    expect(metrics).toMatch(/stripe_webhooks_total\{event="customer.subscription.created",outcome="duplicate"\} [1-9]/);
    expect(metrics).toMatch(/stripe_webhooks_total\{event="other",outcome="ignored"\} [1-9]/);
    expect(metrics).not.toContain('event="some.new_type"');
  });
});
