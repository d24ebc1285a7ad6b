import { describe, expect, it } from "vitest";
import {
  customerTenant,
  deliver,
  event,
  eventRow,
  fakeStripe,
  invoice,
  ownerTenant,
  prices,
  signatureFor,
  subscription,
  tenantRow,
  uniqueId,
} from "./billing-support";
import { workerFetch } from "./support";

/**
 * Signed events that name a tenant only in metadata. Anyone who can get a
 * subscription created in the Stripe account controls its metadata, so the
 * tenant is found through its own customer id or not at all.
 */
describe("Stripe events about a customer no tenant owns", () => {
  it("a subscription.created with metadata.tenant_id=<victim> neither upgrades the victim nor links its customer", async () => {
    const victim = await ownerTenant();
    const forged = event(
      "customer.subscription.created",
      subscription({ id: uniqueId("sub"), customer: uniqueId("cus"), tenantId: victim.tenant.id, status: "active" }),
    );
    const response = await deliver(forged);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ outcome: "ignored" });
    expect(await eventRow(forged.id)).toMatchObject({ status: "ignored", outcome: "ignored", tenant_id: null });
    expect(await tenantRow(victim.tenant.id)).toMatchObject({
      plan: "free",
      stripe_customer_id: null,
      stripe_subscription_id: null,
    });
  });

  it("keeps a paying victim's plan and customer when another customer's events name it", async () => {
    const victim = await customerTenant("pro");
    const stranger = uniqueId("cus");
    const now = Math.floor(Date.now() / 1000);
    const events = [
      event(
        "customer.subscription.created",
        subscription({
          id: uniqueId("sub"),
          customer: stranger,
          tenantId: victim.tenantId,
          status: "active",
          price: prices.team,
        }),
        now - 3,
      ),
      event(
        "customer.subscription.deleted",
        subscription({
          id: uniqueId("sub"),
          customer: stranger,
          tenantId: victim.tenantId,
          status: "canceled",
          canceledAt: now,
        }),
        now - 2,
      ),
      event(
        "invoice.payment_failed",
        invoice({ customer: stranger, subscriptionId: uniqueId("sub"), tenantId: victim.tenantId, status: "open" }),
        now - 1,
      ),
    ];
    for (const forged of events) {
      expect(await (await deliver(forged)).json(), forged.type).toMatchObject({ outcome: "ignored" });
    }
    expect(await tenantRow(victim.tenantId)).toMatchObject({
      plan: "pro",
      stripe_customer_id: victim.customer,
      billing_grace_ends_at: null,
    });
  });

  it("a checkout.session.completed naming the victim as client_reference_id, for someone else's customer, is ignored", async () => {
    const victim = await ownerTenant();
    const stranger = uniqueId("cus");
    const held = await fakeStripe<{ id: string }>("/subscriptions", {
      customer: stranger,
      price: prices.team,
      metadata: { tenant_id: victim.tenant.id },
    });
    const session = {
      id: uniqueId("cs_test"),
      object: "checkout.session",
      client_reference_id: victim.tenant.id,
      customer: stranger,
      metadata: { tenant_id: victim.tenant.id },
      mode: "subscription",
      payment_status: "paid",
      status: "complete",
      subscription: held.id,
    };
    expect(await (await deliver(event("checkout.session.completed", session))).json()).toMatchObject({
      outcome: "ignored",
    });
    expect(await tenantRow(victim.tenant.id)).toMatchObject({ plan: "free", stripe_customer_id: null });
  });

  it("a checkout.session.completed whose subscription belongs to another customer changes nothing", async () => {
    const tenant = await customerTenant();
    const held = await fakeStripe<{ id: string }>("/subscriptions", { customer: uniqueId("cus"), price: prices.team });
    const session = {
      id: uniqueId("cs_test"),
      object: "checkout.session",
      client_reference_id: tenant.tenantId,
      customer: tenant.customer,
      mode: "subscription",
      payment_status: "paid",
      status: "complete",
      subscription: held.id,
    };
    expect(await (await deliver(event("checkout.session.completed", session))).json()).toMatchObject({
      outcome: "ignored",
    });
    expect(await tenantRow(tenant.tenantId)).toMatchObject({ plan: "free", stripe_subscription_id: null });
  });
});

describe("Stripe signature timestamps", () => {
  it("refuses a signature dated further in the future than the tolerance, and accepts one just inside it", async () => {
    const t = await customerTenant();
    const now = Math.floor(Date.now() / 1000);
    const future = event(
      "customer.subscription.created",
      subscription({ id: uniqueId("sub"), customer: t.customer, tenantId: t.tenantId, status: "active" }),
    );
    const payload = JSON.stringify(future);
    for (const ahead of [301, 3600, 10 * 365 * 86_400]) {
      const response = await workerFetch("/webhooks/stripe", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "stripe-signature": await signatureFor(payload, { timestamp: now + ahead }),
        },
        body: payload,
      });
      expect(response.status, `${ahead} s ahead`).toBe(400);
      expect(await response.json()).toMatchObject({
        error: { code: "invalid_signature", message: "Invalid signature" },
      });
    }
    expect(await eventRow(future.id)).toBeUndefined();
    expect((await tenantRow(t.tenantId)).plan).toBe("free");

    // A clock a little ahead of ours (well inside the tolerance) is still Stripe.
    expect((await deliver(future, { timestamp: now + 60 })).status).toBe(200);
    expect((await tenantRow(t.tenantId)).plan).toBe("pro");
  });

  it("refuses a header carrying two timestamps", async () => {
    const t = await customerTenant();
    const now = Math.floor(Date.now() / 1000);
    const created = event(
      "customer.subscription.created",
      subscription({ id: uniqueId("sub"), customer: t.customer, tenantId: t.tenantId, status: "active" }),
    );
    const payload = JSON.stringify(created);
    const signed = await signatureFor(payload, { timestamp: now });
    const response = await workerFetch("/webhooks/stripe", {
      method: "POST",
      headers: { "content-type": "application/json", "stripe-signature": `t=${now + 86_400},${signed}` },
      body: payload,
    });
    expect(response.status).toBe(400);
    expect(await eventRow(created.id)).toBeUndefined();
  });
});
