import { describe, expect, it } from "vitest";
import { operatorBrowser, textOf } from "./admin-console-support";
import {
  customerTenant,
  deliver,
  event,
  fakeStripe,
  prices,
  subscription,
  tenantRow,
  uniqueId,
} from "./billing-support";
import { openMgmtDb } from "./support";

/** Deliver `delivery` while a trigger makes its audit insert fail: the webhook answers 500 and the event is "failed". */
async function deliverFailing(tenantId: string, delivery: object) {
  const db = openMgmtDb();
  const trigger = `fail_console_${tenantId}`;
  await db.execute(
    `CREATE TRIGGER ${trigger} BEFORE INSERT ON audit_log WHEN NEW.tenant_id = '${tenantId}' AND NEW.action = 'webhook'
     BEGIN SELECT RAISE(ABORT, 'injected failure for the console test'); END`,
    "write",
  );
  try {
    expect((await deliver(delivery)).status).toBe(500);
  } finally {
    await db.execute(`DROP TRIGGER ${trigger}`, "write");
  }
}

describe("admin console: webhooks", () => {
  it("a failed event is listed by status and type, its page shows the error and payload, Replay processes it once", async () => {
    const t = await customerTenant();
    const missed = event(
      "customer.subscription.created",
      subscription({
        id: uniqueId("sub"),
        customer: t.customer,
        tenantId: t.tenantId,
        status: "active",
        price: prices.team,
      }),
    );
    await deliverFailing(t.tenantId, missed);
    await fakeStripe("/events", missed);
    const browser = await operatorBrowser("dave");

    const failed = await browser.page("/admin/webhooks?status=failed&type=customer.subscription.created");
    expect(failed.html).toContain(`/admin/webhooks/${missed.id}`);
    const processedOnly = await browser.page("/admin/webhooks?status=processed");
    expect(processedOnly.html).not.toContain(`/admin/webhooks/${missed.id}`);
    const otherType = await browser.page("/admin/webhooks?type=invoice.paid");
    expect(otherType.html).not.toContain(`/admin/webhooks/${missed.id}`);

    const page = await browser.page(`/admin/webhooks/${missed.id}`);
    const text = textOf(page.html);
    expect(text).toMatch(/Status failed/);
    expect(text).toContain("injected failure for the console test");
    expect(text).toMatch(/Attempts 1/);
    expect(page.html).toContain(`&quot;id&quot;: &quot;${missed.id}&quot;`);

    const replayed = await browser.post(`/admin/webhooks/${missed.id}/replay`, { csrf: page.csrf });
    expect(replayed.status).toBe(200);
    expect(textOf(await replayed.text())).toMatch(/Replay: applied\. Plan free → team\./);
    expect((await tenantRow(t.tenantId)).plan).toBe("team");

    const again = await browser.post(`/admin/webhooks/${missed.id}/replay`, { csrf: page.csrf });
    expect(textOf(await again.text())).toMatch(/Replay: duplicate\./);
    const forced = await browser.post(`/admin/webhooks/${missed.id}/replay`, { csrf: page.csrf, force: "true" });
    expect(textOf(await forced.text())).toMatch(/Replay anyway: (applied|unchanged)\./);

    const audit = await openMgmtDb().execute(
      {
        sql: "SELECT action, actor, metadata FROM audit_log WHERE tenant_id = ? AND action IN ('webhook', 'webhooks.replay') ORDER BY id",
        args: [t.tenantId],
      },
      "read",
    );
    const entries = audit.rows.map((row) => ({
      action: String(row.action),
      actor: String(row.actor),
      ...(JSON.parse(String(row.metadata)) as { before?: { plan: string }; after?: { plan: string } }),
    }));
    // The plan changed once (the first replay), whatever was replayed after; each replay names the operator.
    const changes = entries.filter((entry) => entry.action === "webhook" && entry.before?.plan !== entry.after?.plan);
    expect(changes).toEqual([expect.objectContaining({ before: { plan: "free" }, after: { plan: "team" } })]);
    expect(entries.filter((entry) => entry.action === "webhooks.replay").map((entry) => entry.actor)).toEqual([
      "admin:dave",
      "admin:dave",
      "admin:dave",
    ]);
  });

  it("a replay Stripe does not know shows the refusal on the page", async () => {
    const browser = await operatorBrowser();
    const { csrf } = await browser.page("/admin/webhooks");
    const missing = await browser.post("/admin/webhooks/evt_not_at_stripe_1/replay", { csrf });
    expect(missing.status).toBe(200);
    expect(textOf(await missing.text())).toContain("Replay: Stripe has no event evt_not_at_stripe_1");
  });

  it("reconcile runs dry first, then applies what it found for that tenant", async () => {
    const t = await customerTenant();
    // Stripe has an active pro subscription whose webhooks never arrived.
    await fakeStripe("/subscriptions", {
      customer: t.customer,
      price: prices.pro,
      metadata: { tenant_id: t.tenantId },
    });
    const browser = await operatorBrowser("erin");
    const { csrf } = await browser.page("/admin/webhooks");
    const dry = await browser.post("/admin/reconcile", { csrf, tenant_id: t.tenantId });
    const dryText = textOf(await dry.text());
    expect(dryText).toContain("Reconciliation: dry run");
    expect(dryText).toMatch(/Checked 1 tenant \(.+\): 1 differ from Stripe/);
    expect((await tenantRow(t.tenantId)).plan).toBe("free");
    const applied = await browser.post("/admin/reconcile", { csrf, tenant_id: t.tenantId, apply: "true" });
    expect(textOf(await applied.text())).toMatch(/Reconciled with Stripe.*1 fixed/);
    expect((await tenantRow(t.tenantId)).plan).toBe("pro");
  });
});
