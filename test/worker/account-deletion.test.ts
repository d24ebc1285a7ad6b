import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { deleteTenant } from "../../shared/lifecycle/deletion/delete-tenant";
import { startMove } from "../../shared/lifecycle/move/commands";
import { advanceMove } from "../../shared/lifecycle/move/drive";
import { remember } from "../../shared/memory/remember";
import { createApiKey } from "../../shared/tenants/api-keys";
import { getTenantDatabase } from "../../shared/tenants/tenants";
import worker from "../../workers/index";
import { connect } from "./mcp-support";
import { config, newTenant, openMgmtDb } from "./support";

const base = "http://localhost";

function call(token: string, path: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${token}`);
  if (init.body) headers.set("content-type", "application/json");
  return exports.default.fetch(`${base}${path}`, { ...init, headers });
}

const platformStatus = async (name: string) =>
  (
    await fetch(`${config.turso.apiUrl}/v1/organizations/local/databases/${name}`, {
      headers: { authorization: `Bearer ${config.turso.apiToken}` },
    })
  ).status;

async function mgmtCount(sql: string, tenantId: string) {
  const result = await openMgmtDb().execute({ sql, args: [tenantId] }, "read");
  return Number(result.rows[0]?.n);
}

describe("deleting an account", () => {
  it("deletes the database, the object's storage, the rows and the personal data, leaves a tombstone, and the key answers 401", async () => {
    const { tenant, apiKey, database } = await newTenant("pro");
    const client = await connect(apiKey.key, "legacy");
    await client.callTool({ name: "remember", arguments: { content: "something personal", kind: "fact" } });
    await client.close();

    // An agent's key (mcp:tools only) cannot delete the account; the owner's can.
    const agentRefused = await call(apiKey.key, "/api/account", {
      method: "DELETE",
      body: JSON.stringify({ confirm: tenant.id }),
    });
    expect(agentRefused.status).toBe(403);
    expect(await platformStatus(database.name)).toBe(200);
    const owner = await createApiKey(openMgmtDb(), tenant.id, { name: "owner", scopes: ["mcp:tools", "keys:manage"] });

    const wrong = await call(owner.key, "/api/account", {
      method: "DELETE",
      body: JSON.stringify({ confirm: "nope" }),
    });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ error: { code: "confirmation_mismatch" } });
    expect(await platformStatus(database.name)).toBe(200);

    const deleted = await call(owner.key, "/api/account", {
      method: "DELETE",
      body: JSON.stringify({ confirm: tenant.id }),
    });
    expect(deleted.status).toBe(200);
    expect(await deleted.json()).toMatchObject({
      object: "account_deletion",
      tenant_id: tenant.id,
      deleted: true,
      already_deleted: false,
      databases_deleted: [database.name],
      keys_revoked: 2,
    });

    expect(await platformStatus(database.name)).toBe(404);
    for (const table of [
      "tenants WHERE id",
      "api_keys WHERE tenant_id",
      "tenant_databases WHERE tenant_id",
      "usage WHERE tenant_id",
      "users WHERE tenant_id",
    ]) {
      expect(await mgmtCount(`SELECT COUNT(*) AS n FROM ${table} = ?`, tenant.id)).toBe(0);
    }
    const audit = await openMgmtDb().execute(
      { sql: "SELECT actor, action, metadata, ip FROM audit_log WHERE tenant_id = ?", args: [tenant.id] },
      "read",
    );
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0]).toMatchObject({ action: "tenant.delete", actor: "owner", ip: null });
    const tombstone = JSON.stringify(audit.rows[0]);
    expect(tombstone).not.toContain(tenant.ownerEmail);
    expect(tombstone).not.toContain(tenant.orgName);

    const storage = await runInDurableObject(env.TENANT_DO.getByName(tenant.id), (_instance, state) =>
      state.storage.sql.exec("SELECT COUNT(*) AS n FROM mcp_sessions").one(),
    );
    expect(storage.n).toBe(0);

    // The key is forgotten by this isolate at once (others within the 60 s cache bound).
    const after = await call(apiKey.key, "/api/usage");
    expect(after.status).toBe(401);

    // Repeating it (the operator) finds it done; the email can sign up again as a new tenant.
    const again = await call("test-admin-token", `/api/tenants/${tenant.id}`, {
      method: "DELETE",
      body: JSON.stringify({ confirm: tenant.id }),
    });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ already_deleted: true });
    const other = await openMgmtDb().execute(
      { sql: "SELECT COUNT(*) AS n FROM tenants WHERE owner_email = ?", args: [tenant.ownerEmail] },
      "read",
    );
    expect(other.rows[0]?.n).toBe(0);
  });

  it("an interrupted deletion is finished by the cron sweep, including databases a migration left behind", async () => {
    const { tenant } = await newTenant("team");
    const record = await getTenantDatabase(openMgmtDb(), config, tenant.id);
    const db = (await import("../../shared/db/client")).openDatabase(record!.coordinates, 10_000);
    await remember(db, [{ content: "to be moved then deleted" }]);
    const stub = env.TENANT_DO.getByName(tenant.id);
    const deps = {
      mgmt: openMgmtDb(),
      config,
      gate: {
        markMigrating: (id: string) => stub.markMigrating(id),
        releaseMigrating: (id: string, generation: number | null) => stub.releaseMigrating(id, generation),
      },
    };
    const migration = await startMove(deps, tenant.id, { group: "default" }, { actor: "test" });
    await advanceMove(deps, migration.id);
    const moved = await getTenantDatabase(openMgmtDb(), config, tenant.id);

    // Dies after marking the tenant deleted: the object cannot be reached to erase it.
    await expect(
      deleteTenant(
        {
          mgmt: openMgmtDb(),
          config,
          hooks: {
            eraseTenantObject: async () => {
              throw new Error("killed");
            },
          },
        },
        tenant.id,
        { actor: "admin" },
      ),
    ).rejects.toThrow("killed");
    expect(await mgmtCount("SELECT COUNT(*) AS n FROM tenants WHERE id = ? AND status = 'deleted'", tenant.id)).toBe(1);

    await worker.scheduled(
      { scheduledTime: Date.now(), cron: "*/5 * * * *", noRetry() {} } as ScheduledController,
      env,
    );
    expect(await mgmtCount("SELECT COUNT(*) AS n FROM tenants WHERE id = ?", tenant.id)).toBe(0);
    expect(await platformStatus(record!.name)).toBe(404);
    expect(await platformStatus(moved!.name)).toBe(404);
  });

  it("cancels the Stripe subscription, and without billing wired refuses rather than leave one charging", async () => {
    const { tenant, database } = await newTenant("pro");
    await openMgmtDb().execute(
      { sql: "UPDATE tenants SET stripe_subscription_id = ? WHERE id = ?", args: [`sub_${tenant.id}`, tenant.id] },
      "write",
    );
    const eraseTenantObject = (id: string) => env.TENANT_DO.getByName(id).eraseStorage();
    await expect(
      deleteTenant({ mgmt: openMgmtDb(), config, hooks: { eraseTenantObject } }, tenant.id, { actor: "admin" }),
    ).rejects.toMatchObject({ status: 409, code: "subscription_not_cancellable" });
    expect(await platformStatus(database.name)).toBe(200);
    expect(await mgmtCount("SELECT COUNT(*) AS n FROM tenants WHERE id = ? AND status = 'active'", tenant.id)).toBe(1);

    const cancelled: string[] = [];
    const cancelSubscription = async (id: string) => {
      cancelled.push(id);
    };
    const result = await deleteTenant(
      { mgmt: openMgmtDb(), config, hooks: { cancelSubscription, eraseTenantObject } },
      tenant.id,
      { actor: "admin" },
    );
    expect(cancelled).toEqual([`sub_${tenant.id}`]);
    expect(result).toMatchObject({ subscriptionCancelled: true, databasesDeleted: [database.name] });
  });
});
