import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../workers/index";
import { DAILY_RECONCILE_CRON } from "../../workers/scheduled";
import {
  adminFetch,
  customerTenant,
  deliver,
  event,
  eventRow,
  fakeStripe,
  prices,
  subscription,
  tenantRow,
  uniqueId,
} from "./billing-support";
import { afterOneLeaseLifetime, asTenant, METRICS_AUTH, openMgmtDb, workerFetch } from "./support";

afterEach(() => {
  vi.useRealTimers();
});

interface WebhookList {
  data: { id: string; type: string; status: string; outcome: string | null; error: string | null; attempts: number }[];
  has_more: boolean;
  next_cursor: string | null;
}

/** The plan the tenant's requests are admitted under, a lease lifetime after the last change. */
async function planInForce(key: string): Promise<string> {
  afterOneLeaseLifetime();
  const response = await workerFetch(`/api/me`, { headers: asTenant(key) });
  return ((await response.json()) as { plan: string }).plan;
}

async function audit(action: string, tenantId?: string) {
  const result = await openMgmtDb().execute(
    {
      sql: `SELECT * FROM audit_log WHERE action = ? ${tenantId ? "AND tenant_id = ?" : ""} ORDER BY id`,
      args: tenantId ? [action, tenantId] : [action],
    },
    "read",
  );
  return result.rows.map((row) => ({ actor: row.actor, ...JSON.parse(String(row.metadata)) }));
}

async function runCron(cron: string) {
  await worker.scheduled(createScheduledController({ cron, scheduledTime: Date.now() }), env);
}

/** A failed event: a trigger makes its audit insert fail once. */
async function failOnce(tenantId: string, delivery: object) {
  const db = openMgmtDb();
  const trigger = `fail_admin_${tenantId}`;
  await db.execute(
    `CREATE TRIGGER ${trigger} BEFORE INSERT ON audit_log WHEN NEW.tenant_id = '${tenantId}' AND NEW.action = 'webhook'
     BEGIN SELECT RAISE(ABORT, 'injected failure for the admin test'); END`,
    "write",
  );
  try {
    expect((await deliver(delivery)).status).toBe(500);
  } finally {
    await db.execute(`DROP TRIGGER ${trigger}`, "write");
  }
}

describe("admin webhook events", () => {
  it("lists events by status with their error, and the listing is audited", async () => {
    const t = await customerTenant();
    const failing = event(
      "customer.subscription.created",
      subscription({ id: uniqueId("sub"), customer: t.customer, tenantId: t.tenantId, status: "active" }),
    );
    await failOnce(t.tenantId, failing);
    const ignored = event("payout.paid", { id: uniqueId("po"), object: "payout" });
    await deliver(ignored);

    const failed = await adminFetch("/api/admin/webhooks?status=failed&limit=200", {
      headers: { "x-admin-actor": "alice" },
    });
    expect(failed.status).toBe(200);
    const body = (await failed.json()) as WebhookList;
    const entry = body.data.find((e) => e.id === failing.id);
    expect(entry).toMatchObject({ status: "failed", type: "customer.subscription.created", attempts: 1 });
    expect(entry?.error).toContain("injected failure");
    expect(body.data.every((e) => e.status === "failed")).toBe(true);

    const ignoredList = (await (
      await adminFetch("/api/admin/webhooks?status=ignored&limit=200")
    ).json()) as WebhookList;
    expect(ignoredList.data.some((e) => e.id === ignored.id)).toBe(true);
    expect((await adminFetch("/api/admin/webhooks?status=lost")).status).toBe(400);
    expect((await workerFetch(`/api/admin/webhooks`)).status).toBe(401);
    expect(
      (await audit("webhooks.list")).some((entry) => entry.actor === "admin:alice" && entry.status === "failed"),
    ).toBe(true);
  });

  it("replays a failed event from Stripe, then treats a second replay as a duplicate, and ?force=true reprocesses it", async () => {
    const t = await customerTenant();
    const id = uniqueId("sub");
    const missed = event(
      "customer.subscription.created",
      subscription({ id, customer: t.customer, tenantId: t.tenantId, status: "active", price: prices.team }),
    );
    await failOnce(t.tenantId, missed);
    // Replay re-fetches the event from Stripe: the fake holds it as Stripe would.
    await fakeStripe("/events", missed);

    const replayed = await adminFetch(`/api/admin/webhooks/${missed.id}/replay`, { method: "POST" });
    expect(replayed.status).toBe(200);
    expect(await replayed.json()).toMatchObject({
      outcome: "applied",
      tenant_id: t.tenantId,
      plan_before: "free",
      plan_after: "team",
    });
    expect(await planInForce(t.ownerKey)).toBe("team");
    expect(await eventRow(missed.id)).toMatchObject({ status: "processed", attempts: 2 });

    const again = await adminFetch(`/api/admin/webhooks/${missed.id}/replay`, { method: "POST" });
    expect(await again.json()).toMatchObject({ outcome: "duplicate" });

    // Someone changed the plan by hand; a forced replay puts the event's state back.
    await openMgmtDb().execute({ sql: "UPDATE tenants SET plan = 'free' WHERE id = ?", args: [t.tenantId] }, "write");
    const forced = await adminFetch(`/api/admin/webhooks/${missed.id}/replay?force=true`, { method: "POST" });
    expect(await forced.json()).toMatchObject({
      outcome: "applied",
      force: true,
      plan_before: "free",
      plan_after: "team",
    });
    expect((await tenantRow(t.tenantId)).plan).toBe("team");

    const trail = await audit("webhooks.replay", t.tenantId);
    expect(trail.map((entry) => [entry.outcome, entry.force])).toEqual([
      ["applied", false],
      ["duplicate", false],
      ["applied", true],
    ]);
  });

  it("answers 404 for an event Stripe does not have and 400 for something that is not an event id", async () => {
    const missing = await adminFetch("/api/admin/webhooks/evt_does_not_exist/replay", { method: "POST" });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: "event_not_found" } });
    expect((await adminFetch("/api/admin/webhooks/not-an-id/replay", { method: "POST" })).status).toBe(400);
  });
});

describe("billing reconciliation", () => {
  it("reports drift without changing anything, and apply=true writes Stripe's state, audited and in force", async () => {
    const t = await customerTenant();
    // Stripe has an active team subscription whose webhooks never arrived.
    const created = await fakeStripe<{ id: string }>("/subscriptions", {
      customer: t.customer,
      price: prices.team,
      metadata: { tenant_id: t.tenantId },
    });
    const report = await adminFetch("/api/admin/billing/reconcile", { method: "POST" });
    expect(report.status).toBe(200);
    const body = (await report.json()) as {
      applied: boolean;
      drift: { tenant_id: string; local: object; stripe: object; fixed: boolean }[];
    };
    expect(body.applied).toBe(false);
    expect(body.drift.find((d) => d.tenant_id === t.tenantId)).toMatchObject({
      local: { plan: "free", subscription_id: null, status: null },
      stripe: { plan: "team", subscription_id: created.id, status: "active" },
      fixed: false,
    });
    expect((await tenantRow(t.tenantId)).plan).toBe("free");

    // Applied to this tenant only: other test files' tenants (fake customer ids) must not be touched.
    const applied = await adminFetch(`/api/admin/billing/reconcile?apply=true&tenant_id=${t.tenantId}`, {
      method: "POST",
    });
    const fixed = (await applied.json()) as typeof body;
    expect(fixed.drift.find((d) => d.tenant_id === t.tenantId)).toMatchObject({ fixed: true });
    expect(await tenantRow(t.tenantId)).toMatchObject({ plan: "team", stripe_subscription_id: created.id });
    expect(await planInForce(t.ownerKey)).toBe("team");
    expect(await audit("billing.reconcile", t.tenantId)).toMatchObject([
      { before: { plan: "free" }, after: { plan: "team" } },
    ]);

    const recheck = await adminFetch(`/api/admin/billing/reconcile?tenant_id=${t.tenantId}`, { method: "POST" });
    const clean = (await recheck.json()) as typeof body & { checked: number };
    expect(clean.checked).toBe(1);
    expect(clean.drift.some((d) => d.tenant_id === t.tenantId)).toBe(false);

    // An older webhook arriving after the fix cannot undo it.
    const old = event(
      "customer.subscription.updated",
      subscription({ id: created.id, customer: t.customer, tenantId: t.tenantId, status: "canceled" }),
      Math.floor(Date.now() / 1000) - 3600,
    );
    expect(await (await deliver(old)).json()).toMatchObject({ outcome: "stale" });
  });

  it("the daily scheduled run reports drift in billing_drift_tenants and changes nothing", async () => {
    const t = await customerTenant("pro");
    const before = await tenantRow(t.tenantId);
    await runCron(DAILY_RECONCILE_CRON);
    expect((await tenantRow(t.tenantId)).plan).toBe(before.plan);
    const metrics = await (await workerFetch(`/metrics`, { headers: METRICS_AUTH })).text();
    const drift = Number(metrics.match(/^billing_drift_tenants (\d+)$/m)?.[1]);
    // This tenant has a customer with no subscription but the pro plan: at least it drifts.
    expect(drift).toBeGreaterThanOrEqual(1);
  });
});

describe("grace period", () => {
  it("the scheduled handler returns a tenant whose grace ran out to free, audited and in force within a lease lifetime", async () => {
    const t = await customerTenant();
    const id = uniqueId("sub");
    const now = Math.floor(Date.now() / 1000);
    await deliver(
      event(
        "customer.subscription.created",
        subscription({ id, customer: t.customer, tenantId: t.tenantId, status: "active" }),
        now - 60,
      ),
    );
    await deliver(
      event(
        "customer.subscription.updated",
        subscription({ id, customer: t.customer, tenantId: t.tenantId, status: "past_due" }),
        now - 50,
      ),
    );
    expect(await planInForce(t.ownerKey)).toBe("pro");

    await runCron("*/5 * * * *");
    expect((await tenantRow(t.tenantId)).plan).toBe("pro");

    // Eight days later, as far as the database can tell.
    await openMgmtDb().execute(
      {
        sql: "UPDATE tenants SET billing_grace_ends_at = ? WHERE id = ?",
        args: [new Date(Date.now() - 1000).toISOString(), t.tenantId],
      },
      "write",
    );
    await runCron("*/5 * * * *");
    expect(await tenantRow(t.tenantId)).toMatchObject({ plan: "free", billing_grace_ends_at: null });
    expect((await tenantRow(t.tenantId)).billing_payment_failed_at).not.toBeNull();
    expect(await planInForce(t.ownerKey)).toBe("free");
    expect(await audit("billing.grace_ended", t.tenantId)).toMatchObject([
      { actor: "system", before: { plan: "pro" }, after: { plan: "free" } },
    ]);

    // A later past_due update does not bring the paid plan back; paying does.
    await deliver(
      event(
        "customer.subscription.updated",
        subscription({ id, customer: t.customer, tenantId: t.tenantId, status: "past_due", cancelAtPeriodEnd: true }),
        now - 20,
      ),
    );
    expect((await tenantRow(t.tenantId)).plan).toBe("free");
    await deliver(
      event(
        "customer.subscription.updated",
        subscription({ id, customer: t.customer, tenantId: t.tenantId, status: "active" }),
        now - 10,
      ),
    );
    expect(await planInForce(t.ownerKey)).toBe("pro");
  });
});
