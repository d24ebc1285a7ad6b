import { describe, expect, it } from "vitest";
import { openDatabase } from "../../shared/db/client";
import { schemaVersion } from "../../shared/db/migrate";
import { tenantMigrations } from "../../shared/migrations/tenant";
import { createApiKey } from "../../shared/tenants/api-keys";
import { resolveCredential } from "../../shared/tenants/credentials";
import { createTenant, getTenant, getTenantDatabase } from "../../shared/tenants/tenants";
import { getDatabase } from "../../shared/tenants/turso-platform";
import { asTenant, config, newTenant, openMgmtDb, workerFetch } from "./support";

describe("tenant provisioning", () => {
  it("gives a new tenant its own migrated database that knows whose it is", async () => {
    const { tenant, database } = await newTenant("pro");
    expect(tenant.plan).toBe("pro");
    expect(database.name).toBe(`tenant-${tenant.id}`);

    const record = await getTenantDatabase(openMgmtDb(), config, tenant.id);
    expect(record?.schemaVersion).toBe(tenantMigrations.length);
    const db = openDatabase(record!.coordinates, config.dbTimeoutMs);
    expect(await schemaVersion(db)).toBe(tenantMigrations.length);
    const meta = await db.execute("SELECT value FROM tenant_meta WHERE key = 'tenant_id'", "read");
    expect(meta.rows[0]?.value).toBe(tenant.id);
  });

  it("stores the tenant database token encrypted, never in clear", async () => {
    const { tenant } = await newTenant();
    const record = await getTenantDatabase(openMgmtDb(), config, tenant.id);
    const stored = await openMgmtDb().execute(
      {
        sql: "SELECT auth_token_encrypted FROM tenant_databases WHERE tenant_id = ?",
        args: [tenant.id],
      },
      "read",
    );
    const ciphertext = String(stored.rows[0]?.auth_token_encrypted);
    expect(ciphertext).toMatch(/^v2\./);
    expect(ciphertext).not.toContain(record!.coordinates.authToken);
  });

  it("verifies its API key, keeps only a hash, and counts keys on the tenant", async () => {
    const { tenant, apiKey } = await newTenant();
    expect(apiKey.key).toMatch(/^mk_[A-Za-z0-9]{40}$/);
    expect(await resolveCredential(openMgmtDb(), config, apiKey.key)).toMatchObject({ tenant: { id: tenant.id } });
    const last = apiKey.key.at(-1) === "x" ? "y" : "x";
    expect(await resolveCredential(openMgmtDb(), config, `${apiKey.key.slice(0, -1)}${last}`)).toBeNull();

    const stored = await openMgmtDb().execute(
      {
        sql: "SELECT * FROM api_keys WHERE tenant_id = ?",
        args: [tenant.id],
      },
      "read",
    );
    expect(JSON.stringify(stored.rows)).not.toContain(apiKey.key);

    await createApiKey(openMgmtDb(), tenant.id, { name: "second" });
    expect((await getTenant(openMgmtDb(), tenant.id))?.apiKeysCount).toBe(2);
    await openMgmtDb().execute(
      {
        sql: "UPDATE api_keys SET revoked_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
        args: [apiKey.id],
      },
      "write",
    );
    expect((await getTenant(openMgmtDb(), tenant.id))?.apiKeysCount).toBe(1);
    expect(await resolveCredential(openMgmtDb(), config, apiKey.key)).toBeNull();
  });

  it("records when a key was last used", async () => {
    const { apiKey } = await newTenant();
    const lastUsed = async () =>
      (await openMgmtDb().execute({ sql: "SELECT last_used_at FROM api_keys WHERE id = ?", args: [apiKey.id] }, "read"))
        .rows[0]?.last_used_at;
    expect(await lastUsed()).toBeNull();
    const response = await workerFetch("/api/me", {
      headers: asTenant(apiKey.key),
    });
    expect(response.status).toBe(200);
    // Written after the response (waitUntil); poll briefly rather than assume when.
    for (let i = 0; i < 50 && (await lastUsed()) === null; i++) await new Promise((r) => setTimeout(r, 20));
    expect(String(await lastUsed())).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  it("leaves no tenant and no orphan database when the management write fails", async () => {
    const mgmtDb = openMgmtDb();
    const before = await mgmtDb.execute("SELECT COUNT(*) AS n FROM tenants", "read");
    // An invalid plan passes provisioning but violates the tenants CHECK constraint.
    await expect(
      createTenant(mgmtDb, config, {
        orgName: "Broken",
        ownerEmail: "broken@example.test",
        plan: "enterprise" as never,
        firstKeyName: "k",
        actor: "test",
      }),
    ).rejects.toThrow(/CHECK constraint/);
    const after = await mgmtDb.execute("SELECT COUNT(*) AS n FROM tenants", "read");
    expect(after.rows[0]?.n).toBe(before.rows[0]?.n);
    const orphans = await mgmtDb.execute(
      "SELECT COUNT(*) AS n FROM tenant_databases WHERE tenant_id NOT IN (SELECT id FROM tenants)",
      "read",
    );
    expect(orphans.rows[0]?.n).toBe(0);
    // Entries about migrations name the migration; a deleted account leaves only its tombstone.
    const audit = await mgmtDb.execute(
      `SELECT COUNT(*) AS n FROM audit_log WHERE target IS NOT NULL AND target NOT IN (SELECT id FROM tenants)
         AND target NOT IN (SELECT id FROM tenant_migrations) AND action != 'tenant.delete'`,
      "read",
    );
    expect(audit.rows[0]?.n).toBe(0);
  });

  it("deletes the provisioned database again when creation fails", async () => {
    const mgmtDb = openMgmtDb();
    const failing = createTenant(mgmtDb, config, {
      orgName: "Broken",
      ownerEmail: "broken2@example.test",
      plan: "enterprise" as never,
      actor: "test",
    });
    await expect(failing).rejects.toThrow();
    const listed = await fetch(`${config.turso.apiUrl}/v1/organizations/${config.turso.org}/databases`, {
      headers: { authorization: `Bearer ${config.turso.apiToken}` },
    });
    const { databases } = (await listed.json()) as { databases: { Name: string }[] };
    // Every database the management DB accounts for: tenants' own, and those a migration keeps or is filling.
    const accounted = await mgmtDb.execute(
      `SELECT name FROM tenant_databases
       UNION SELECT source_name FROM tenant_migrations WHERE status IN ('running', 'failed', 'completed')
       UNION SELECT target_name FROM tenant_migrations WHERE status IN ('running', 'failed') AND target_name IS NOT NULL`,
      "read",
    );
    const known = new Set(accounted.rows.map((row) => String(row.name)));
    const orphans = databases.filter((db) => db.Name.startsWith("tenant-") && !known.has(db.Name));
    expect(orphans).toEqual([]);
    await expect(getDatabase(config.turso, 1000, "tenant-never-created")).rejects.toMatchObject({ status: 404 });
  });
});
