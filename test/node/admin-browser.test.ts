import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readConfig } from "../../shared/config";
import { openDatabase } from "../../shared/db/client";
import { repoRoot } from "../../tools/local-stack";
import { review as reviewPage, useBrowserStack } from "./browser-support";

/**
 * The admin console as an operator uses it: Chromium on a local stack with
 * the fake Stripe delivering signed webhooks. Every page is checked with axe
 * and photographed in both colour schemes under .muninn/screenshots/.
 *
 * A Prometheus stand-in (its `/api/v1/rules` answer, in Prometheus's shape,
 * with the real rule names from ops/prometheus/alerts.yml) lets the health
 * page show alert states; Prometheus is a third party here like Stripe.
 */
const OPERATOR = "ops-test";

let prometheus: Server;

async function startPrometheusStandIn(): Promise<Server> {
  const names = [
    ...(await readFile(join(repoRoot, "ops/prometheus/alerts.yml"), "utf8")).matchAll(/- alert: (\w+)/g),
  ].map((match) => match[1] ?? "");
  const body = JSON.stringify({
    status: "success",
    data: {
      groups: [
        {
          name: "muninn",
          rules: names.map((name) => ({
            type: "alerting",
            name,
            state: name === "StripeWebhookFailures" ? "firing" : "inactive",
            health: "ok",
            labels: { severity: name === "ManagementDatabaseUnreachable" ? "critical" : "warning" },
            annotations: { summary: `${name} summary` },
            alerts: name === "StripeWebhookFailures" ? [{ state: "firing" }] : [],
          })),
        },
      ],
    },
  });
  const server = createServer((req, res) => {
    if (req.url?.startsWith("/api/v1/rules")) {
      res.writeHead(200, { "content-type": "application/json" }).end(body);
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

beforeAll(async () => {
  prometheus = await startPrometheusStandIn();
});

afterAll(async () => {
  await new Promise((resolve) => prometheus?.close(resolve));
});

// Registered after the stand-in's hooks: the stack starts once the stand-in listens.
const env = useBrowserStack({
  vars: () => ({ PROMETHEUS_URL: `http://127.0.0.1:${(prometheus.address() as AddressInfo).port}` }),
});

/** No serious or critical accessibility violation, then a screenshot in light and in dark. */
const review = (page: Page, name: string) => reviewPage(page, name, "admin");

function mgmtDb() {
  const config = readConfig(env.stack.vars);
  return openDatabase(config.mgmtDb, config.dbTimeoutMs);
}

async function fakeStripe<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(`${env.stack.info.stripe.apiBase}/_fake${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`fake stripe ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

describe("the admin console in a real browser", () => {
  it("signs in, changes the demo tenant's plan, finds a failed webhook and replays it once the fault is gone", async () => {
    const base = env.stack.info.baseUrl;
    const tenantId = env.stack.info.tenantId;
    const db = mgmtDb();
    const context = await env.browser.newContext();
    const page = await context.newPage();
    try {
      // Sign in: the token goes in a password field and never into a URL.
      await page.goto(`${base}/admin`);
      await page.waitForURL(`${base}/admin/signin`);
      await review(page, "signin");
      await page.getByLabel("Your name").fill(OPERATOR);
      await page.getByLabel("Admin token").fill(env.stack.info.adminToken);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL(`${base}/admin/tenants`);
      expect(page.url()).not.toContain(env.stack.info.adminToken);
      await review(page, "tenants");

      // Find the demo tenant by its owner's email.
      await page.getByLabel("Id, email or team name").fill("demo@muninn.local");
      await page.getByRole("button", { name: "Search" }).click();
      await page.getByRole("link", { name: "Demo" }).click();
      await page.waitForURL(`${base}/admin/tenants/${tenantId}`);
      await page.getByRole("heading", { name: "Demo", level: 1 }).waitFor();
      await review(page, "tenant");

      // Change its plan: a confirmation first, then an audit entry naming the operator.
      const before = String(
        (await db.execute({ sql: "SELECT plan FROM tenants WHERE id = ?", args: [tenantId] }, "read")).rows[0]?.plan,
      );
      const target = before === "team" ? "pro" : "team";
      await page.getByLabel("Plan", { exact: true }).selectOption(target);
      await page.getByRole("button", { name: "Review change" }).click();
      await page.getByRole("heading", { name: "Change Demo" }).waitFor();
      await review(page, "confirm-change");
      await page.getByRole("button", { name: "Confirm change" }).click();
      await page.waitForURL(`${base}/admin/tenants/${tenantId}?notice=changed`);
      await page.getByRole("status").filter({ hasText: "Changed." }).waitFor();
      const auditSection = page.getByRole("region", { name: "Recent audit entries" });
      expect(await auditSection.textContent()).toContain(`admin:${OPERATOR}`);
      expect(await auditSection.textContent()).toContain("tenant.update");

      // A signed webhook that fails: the fake Stripe delivers it while a trigger makes the handler's audit write fail.
      const webhookPlan = target === "team" ? "pro" : "team";
      const customer = `cus_admin_${Date.now()}`;
      await db.execute(
        { sql: "UPDATE tenants SET stripe_customer_id = ? WHERE id = ?", args: [customer, tenantId] },
        "write",
      );
      const subscription = await fakeStripe<{ id: string }>("/subscriptions", {
        customer,
        price: env.stack.info.stripe.prices[webhookPlan],
        metadata: { tenant_id: tenantId },
        status: "incomplete",
      });
      const trigger = "admin_browser_test_fault";
      await db.execute(
        `CREATE TRIGGER ${trigger} BEFORE INSERT ON audit_log WHEN NEW.tenant_id = '${tenantId}' AND NEW.action = 'webhook'
         BEGIN SELECT RAISE(ABORT, 'injected handler fault (admin browser test)'); END`,
        "write",
      );
      let delivered: { events: { id: string; type: string }[]; deliveries: { id: string; status: number | null }[] };
      try {
        delivered = await fakeStripe(`/subscriptions/${subscription.id}/status`, { status: "active" });
      } finally {
        await db.execute(`DROP TRIGGER ${trigger}`, "write");
      }
      const failedEvent = delivered.events.find((event) => event.type === "customer.subscription.updated");
      expect(failedEvent).toBeDefined();
      const eventId = failedEvent?.id ?? "";
      expect(delivered.deliveries.find((delivery) => delivery.id === eventId)?.status).toBe(500);

      // It shows as failed.
      await page.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Webhooks" }).click();
      await page.getByLabel("Status", { exact: true }).selectOption("failed");
      await page.getByRole("button", { name: "Filter" }).click();
      await page.waitForURL(/status=failed/);
      await review(page, "webhooks-failed");
      await page.getByRole("link", { name: eventId }).click();
      await page.waitForURL(`${base}/admin/webhooks/${eventId}`);
      const record = page.getByRole("region", { name: "What arrived" });
      expect(await record.textContent()).toContain("failed");
      expect(await record.textContent()).toContain("injected handler fault");
      await review(page, "event-failed");

      // The fault is gone: Replay processes it, and the plan changed once.
      await page.getByRole("button", { name: "Replay", exact: true }).click();
      const result = page.locator("#replay-result");
      await result.waitFor();
      expect(await result.textContent()).toContain(`applied. Plan ${target} → ${webhookPlan}.`);
      expect(await record.textContent()).toContain("processed");
      await review(page, "event-replayed");
      const webhookChanges = await db.execute(
        { sql: "SELECT metadata FROM audit_log WHERE tenant_id = ? AND action = 'webhook'", args: [tenantId] },
        "read",
      );
      expect(
        webhookChanges.rows
          .map((row) => JSON.parse(String(row.metadata)) as { before?: { plan: string }; after?: { plan: string } })
          .filter((entry) => entry.before?.plan !== entry.after?.plan),
      ).toEqual([expect.objectContaining({ before: { plan: target }, after: { plan: webhookPlan } })]);
      const plan = (await db.execute({ sql: "SELECT plan FROM tenants WHERE id = ?", args: [tenantId] }, "read"))
        .rows[0]?.plan;
      expect(plan).toBe(webhookPlan);

      // Reconcile: a dry run for this tenant finds nothing left to fix.
      await page.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Webhooks" }).click();
      await review(page, "webhooks");
      await page.getByLabel("Tenant id (empty: all)").fill(tenantId);
      await page.getByRole("button", { name: "Dry run" }).click();
      await page.getByRole("heading", { name: "Reconciliation: dry run" }).waitFor();
      expect(await page.getByRole("status").textContent()).toContain("0 differ from Stripe");
      await review(page, "reconcile");

      // Moves: the demo tenant moved to a new database (started through the admin API, driven by its
      // object's alarm) shows as completed; Finalize asks first, then deletes the old database.
      const started = await fetch(`${base}/api/tenants/${tenantId}/migrate`, {
        method: "POST",
        headers: { authorization: `Bearer ${env.stack.info.adminToken}`, "content-type": "application/json" },
        body: JSON.stringify({ target: { group: "default" } }),
      });
      expect(started.status).toBe(202);
      const moveId = ((await started.json()) as { id: string }).id;
      const moves = page.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Moves" });
      await moves.click();
      await page.getByRole("heading", { name: "Database moves" }).waitFor();
      const moveRow = page.getByRole("row").filter({ hasText: moveId });
      for (let attempt = 0; attempt < 60 && !(await moveRow.textContent())?.includes("completed"); attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        await page.reload();
      }
      expect(await moveRow.textContent()).toContain("completed");
      await review(page, "moves");
      await moveRow.getByRole("button", { name: "Finalize" }).click();
      await page.getByRole("button", { name: "Confirm: finalize" }).waitFor();
      await review(page, "confirm-finalize");
      await page.getByRole("button", { name: "Confirm: finalize" }).click();
      await page.waitForURL(`${base}/admin/moves?notice=finalized`);
      expect(await page.getByRole("status").textContent()).toContain("Finalized");
      await page.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Health" }).click();
      await page.getByRole("heading", { name: "Alert rules" }).waitFor();
      const alerts = await page.getByRole("region", { name: "Alert rules" }).textContent();
      expect(alerts).toContain("ManagementDatabaseUnreachable");
      expect(alerts).toMatch(/\d+ alerts, 1 firing/);
      await review(page, "health");
    } finally {
      await context.close();
    }
  }, 180_000);
});
