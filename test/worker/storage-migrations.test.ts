import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ipLimiterStorageMigrations } from "../../durable-objects/ip-limiter/migrations";
import { TENANT_TOP_SQL } from "../../durable-objects/metrics/metrics-do";
import { metricsStorageMigrations } from "../../durable-objects/metrics/migrations";
import { migrateStorage, type StorageMigration, storageVersion } from "../../durable-objects/storage-migrations";
import { tenantStorageMigrations } from "../../durable-objects/tenant/migrations";
import { seriesKey } from "../../shared/metrics/recorder";
import { admitInput } from "./support";

/** What the object's storage records about its migrations. */
function recorded(stub: DurableObjectStub) {
  return runInDurableObject(stub, (_instance, state) =>
    state.storage.sql
      .exec<{ version: number; name: string }>("SELECT version, name FROM storage_migrations ORDER BY version")
      .toArray()
      .map((row) => ({ ...row })),
  );
}

/** Every migration of a list, as `recorded` reports them once all are applied. */
function all(migrations: readonly StorageMigration[]) {
  return migrations.map(({ version, name }) => ({ version, name }));
}

/**
 * Put an object's storage back to what code before versioning left: the
 * version-1 tables, no version recorded. `undo` reverts what later migrations
 * changed, since such objects never had it.
 */
async function forgetVersion(stub: DurableObjectStub, undo: (sql: SqlStorage) => void = () => {}) {
  await runInDurableObject(stub, (_instance, state) => {
    state.storage.sql.exec("DROP TABLE storage_migrations");
    undo(state.storage.sql);
  });
  await evictDurableObject(stub);
}

describe("Durable Object storage migrations", () => {
  it("wakes a tenant object whose storage predates versioning with its sessions and counts intact", async () => {
    const tenantId = `t-storage-${crypto.randomUUID().slice(0, 8)}`;
    const stub = env.TENANT_DO.getByName(tenantId);
    const initialize = { protocolVersion: "2025-11-25", clientInfo: { name: "old", version: "1" } };
    const opened = await stub.admit(admitInput(tenantId, "free", { kind: "mcp", initialize }));
    const call = admitInput(tenantId, "free", { kind: "mcp", toolCall: true });
    await stub.admit(call);
    // Admission only checks a tool call; the dispatch charges it once the call runs.
    expect(await stub.chargeToolCall(call.tenant)).toMatchObject({ charged: true });
    expect(await recorded(stub)).toEqual(all(tenantStorageMigrations));

    await forgetVersion(stub, (sql) => {
      sql.exec("ALTER TABLE tenant_settings DROP COLUMN grace_ends_at");
      sql.exec("DROP TABLE tenant_database");
      sql.exec("DROP TABLE stripe_call_slots");
      sql.exec("DROP TABLE admission_leases");
      sql.exec("ALTER TABLE tenant_settings DROP COLUMN terms_version");
      sql.exec("DROP TABLE usage_days");
    });
    // Waking runs version 1 again over the existing tables: it must keep everything they hold.
    const usage = await stub.usageStatus();
    expect(usage?.usage).toMatchObject({ requests: 2, toolCalls: 1 });
    const { sessions } = await stub.listSessions();
    expect(sessions.map((session) => session.id)).toEqual([opened.admitted && opened.session?.id]);
    expect(await recorded(stub)).toEqual(all(tenantStorageMigrations));
  });

  it("wakes a metrics object whose storage predates versioning with its series intact", async () => {
    const stub = env.METRICS_DO.get(env.METRICS_DO.idFromName(`storage-${crypto.randomUUID()}`));
    const series = seriesKey("rate_limited_total", { plan: "pro" });
    const tenantSeries = seriesKey("tenant_requests_total", { status: 200, tenant: "t-old" });
    await stub.ingest([
      { op: "add", series, value: 4 },
      { op: "add", series: tenantSeries, value: 9 },
    ]);
    // A shard writes its flushes on its alarm (or before a read); the old storage must hold them.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await recorded(stub)).toEqual(all(metricsStorageMigrations));
    await forgetVersion(stub, (sql) => {
      sql.exec("DROP INDEX series_tenant_top");
      sql.exec("ALTER TABLE series DROP COLUMN metric");
    });
    const { series: held } = await stub.snapshot();
    expect(held).toContainEqual(expect.objectContaining({ series, value: 4 }));
    expect(held).toContainEqual(expect.objectContaining({ series: tenantSeries, value: 9 }));
    expect(await recorded(stub)).toEqual(all(metricsStorageMigrations));
  });

  it("reads a metrics shard's largest per-tenant series from an index, not by sorting every tenant", async () => {
    const stub = env.METRICS_DO.get(env.METRICS_DO.idFromName(`storage-${crypto.randomUUID()}`));
    await stub.ingest(
      Array.from({ length: 50 }, (_, i) => ({
        op: "add" as const,
        series: seriesKey("tenant_requests_total", { status: 200, tenant: `t${i}` }),
        value: i,
      })),
    );
    const top = (await stub.snapshot()).series.filter((row) => row.series.startsWith("tenant_requests_total{"));
    expect(top.map((row) => row.value)).toEqual(Array.from({ length: 20 }, (_, i) => 49 - i));
    const plan = await runInDurableObject(stub, (_instance, state) =>
      state.storage.sql
        .exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${TENANT_TOP_SQL}`, "tenant_requests_total", 20)
        .toArray()
        .map((row) => row.detail),
    );
    expect(plan.join("\n")).toMatch(/USING INDEX series_tenant_top/);
    expect(plan.join("\n")).not.toMatch(/TEMP B-TREE/);
  });

  it("wakes an IP limiter whose storage predates versioning still counting its window", async () => {
    const stub = env.IP_LIMITER_DO.getByName(`storage-test:${crypto.randomUUID()}`);
    expect((await stub.take(2, 60)).allowed).toBe(true);
    await forgetVersion(stub);
    expect((await stub.take(2, 60)).allowed).toBe(true);
    expect((await stub.take(2, 60)).allowed).toBe(false);
    expect(await recorded(stub)).toEqual([{ version: 1, name: ipLimiterStorageMigrations[0]?.name }]);
  });

  describe("the runner", () => {
    const v1: StorageMigration = {
      version: 1,
      name: "notes",
      up: (sql) => {
        sql.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
      },
    };
    const v2: StorageMigration = {
      version: 2,
      name: "notes.pinned",
      up: (sql) => {
        sql.exec("ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0");
      },
    };
    const fresh = () => env.TENANT_DO.getByName(`runner-${crypto.randomUUID()}`);

    it("applies only the migrations newer than the storage's version, once, keeping the data", async () => {
      await runInDurableObject(fresh(), (_instance, state) => {
        state.storage.sql.exec("DROP TABLE storage_migrations");
        expect(migrateStorage(state.storage, [v1])).toEqual([1]);
        state.storage.sql.exec("INSERT INTO notes (body) VALUES ('kept')");
        expect(migrateStorage(state.storage, [v1, v2])).toEqual([2]);
        expect(migrateStorage(state.storage, [v1, v2])).toEqual([]);
        expect(storageVersion(state.storage.sql)).toBe(2);
        expect(state.storage.sql.exec("SELECT body, pinned FROM notes").toArray()).toEqual([
          { body: "kept", pinned: 0 },
        ]);
      });
    });

    it("leaves nothing of a migration that fails, and stays at the version before it", async () => {
      const broken: StorageMigration = {
        version: 2,
        name: "half done",
        up: (sql) => {
          sql.exec("ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0");
          sql.exec("INSERT INTO no_such_table VALUES (1)");
        },
      };
      await runInDurableObject(fresh(), (_instance, state) => {
        state.storage.sql.exec("DROP TABLE storage_migrations");
        migrateStorage(state.storage, [v1]);
        expect(() => migrateStorage(state.storage, [v1, broken])).toThrow(/no such table/);
        expect(storageVersion(state.storage.sql)).toBe(1);
        const columns = state.storage.sql.exec<{ name: string }>("PRAGMA table_info(notes)").toArray();
        expect(columns.map((column) => column.name)).toEqual(["id", "body"]);
      });
    });

    it("refuses a list with a gap or out of order", async () => {
      await runInDurableObject(fresh(), (_instance, state) => {
        expect(() => migrateStorage(state.storage, [v2])).toThrow(/numbered 1..n/);
        expect(() => migrateStorage(state.storage, [v2, v1])).toThrow(/numbered 1..n/);
      });
    });
  });
});
