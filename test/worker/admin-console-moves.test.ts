import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { startMove } from "../../shared/lifecycle/move/commands";
import { getMove } from "../../shared/lifecycle/move/record";
import { operatorBrowser, textOf } from "./admin-console-support";
import { ADMIN, config, newTenant, openMgmtDb, workerFetch } from "./support";

async function audit(tenantId: string, action: string) {
  const result = await openMgmtDb().execute(
    { sql: "SELECT actor FROM audit_log WHERE tenant_id = ? AND action = ?", args: [tenantId, action] },
    "read",
  );
  return result.rows.map((row) => String(row.actor));
}

describe("admin console: moves", () => {
  it("lists a running move with its step; cancel asks first, then stops it, audited with the operator", async () => {
    const { tenant } = await newTenant();
    const stub = env.TENANT_DO.getByName(tenant.id);
    // Started but not driven: it stays at its first step until someone acts.
    const move = await startMove(
      {
        mgmt: openMgmtDb(),
        config,
        gate: {
          markMigrating: (id) => stub.markMigrating(id),
          releaseMigrating: (id, generation) => stub.releaseMigrating(id, generation),
        },
      },
      tenant.id,
      { group: "default" },
      { actor: "test", ip: null },
    );
    const browser = await operatorBrowser("frank");
    const list = await browser.page("/admin/moves");
    const row = textOf(list.html);
    expect(row).toContain(move.id);
    expect(row).toMatch(new RegExp(`running ${move.step} \\(1 of \\d+\\)`));

    const path = `/admin/moves/${tenant.id}/${move.id}/cancel`;
    const ask = await browser.post(path, { csrf: list.csrf });
    expect(ask.status).toBe(200);
    expect(textOf(await ask.text())).toContain("the move stops; the tenant stays on its old database");
    expect((await getMove(openMgmtDb(), move.id))?.status).toBe("running");

    const done = await browser.post(path, { csrf: list.csrf, confirm: "yes" });
    expect(done.status).toBe(303);
    expect(done.headers.get("location")).toBe("/admin/moves?notice=cancelled");
    expect((await getMove(openMgmtDb(), move.id))?.status).toBe("cancelled");
    expect(await audit(tenant.id, "tenant.migration.cancel")).toEqual(["admin:frank"]);
    expect(textOf((await browser.page("/admin/moves")).html)).not.toContain(move.id);
  });

  it("a completed move offers Finalize, which deletes the old database, audited with the operator", async () => {
    const { tenant } = await newTenant();
    const started = await workerFetch(`/api/tenants/${tenant.id}/migrate`, {
      method: "POST",
      headers: ADMIN,
      body: JSON.stringify({ target: { group: "default" } }),
    });
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as { id: string };
    // The start sets the object's alarm for now, so the runtime may already be
    // running it: `runDurableObjectAlarm` then finds none to run and returns
    // false at once. Keep going until the move leaves "running", bounded in time.
    const deadline = Date.now() + 20_000;
    while ((await getMove(openMgmtDb(), id))?.status === "running" && Date.now() < deadline) {
      const ran = await runDurableObjectAlarm(env.TENANT_DO.getByName(tenant.id));
      if (!ran) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((await getMove(openMgmtDb(), id))?.status).toBe("completed");

    const browser = await operatorBrowser("grace");
    const list = await browser.page("/admin/moves");
    expect(list.html).toContain(`/admin/moves/${tenant.id}/${id}/finalize`);
    expect(list.html).not.toContain(`/admin/moves/${tenant.id}/${id}/cancel`);
    const done = await browser.post(`/admin/moves/${tenant.id}/${id}/finalize`, { csrf: list.csrf, confirm: "yes" });
    expect(done.headers.get("location")).toBe("/admin/moves?notice=finalized");
    expect((await getMove(openMgmtDb(), id))?.status).toBe("finalized");
    expect(await audit(tenant.id, "tenant.migration.finalize")).toEqual(["admin:grace"]);
    // The tenant's page keeps the move in its history.
    expect(textOf((await browser.page(`/admin/tenants/${tenant.id}`)).html)).toContain(id);
  });
});
