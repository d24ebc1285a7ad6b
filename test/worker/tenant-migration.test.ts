import { runDurableObjectAlarm } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { openDatabase } from "../../shared/db/client";
import { startMove } from "../../shared/lifecycle/move/commands";
import type { MoveDeps } from "../../shared/lifecycle/move/context";
import { advanceMove } from "../../shared/lifecycle/move/drive";
import { MOVE_STEPS } from "../../shared/lifecycle/move/record";
import { remember } from "../../shared/memory/remember";
import { getTenantDatabase } from "../../shared/tenants/tenants";
import worker from "../../workers/index";
import { connect, post } from "./mcp-support";
import { afterOneLeaseLifetime, config, newTenant, openMgmtDb } from "./support";

afterEach(() => {
  vi.useRealTimers();
});

const base = "http://localhost";

function admin(path: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  headers.set("authorization", "Bearer test-admin-token");
  if (init.body) headers.set("content-type", "application/json");
  return exports.default.fetch(`${base}${path}`, { ...init, headers });
}

interface MigrationBody {
  id: string;
  status: string;
  step: string;
  error: string | null;
  target: { name: string | null; url: string | null };
  source: { name: string; url: string };
  tables: Record<
    string,
    { copied: number; source_rows: number; target_rows: number; source_checksum: string; target_checksum: string }
  >;
  retain_until: string | null;
}

async function tenantDb(tenantId: string) {
  const record = await getTenantDatabase(openMgmtDb(), config, tenantId);
  if (!record) throw new Error("tenant has no database");
  return { record, db: openDatabase(record.coordinates, 10_000) };
}

/** A tenant with `count` memories (with tags, files, a version and a link) in its database. */
async function seededTenant(count: number) {
  const created = await newTenant("team");
  const { db } = await tenantDb(created.tenant.id);
  const saved = await remember(
    db,
    Array.from({ length: count }, (_, i) => ({
      content: `migrated memory number ${i}`,
      title: `memory ${i}`,
      kind: "fact" as const,
      tags: [`tag-${i % 3}`],
      files: [`src/file-${i % 2}.ts`],
    })),
  );
  await db.execute(
    {
      sql: "INSERT INTO memory_links (from_id, to_id, relation, created_at) VALUES (?, ?, 'relates_to', 1)",
      args: [saved[0]!.id, saved[1]!.id],
    },
    "write",
  );
  return { ...created, ids: saved.map((memory) => memory.id) };
}

function stubDeps(tenantId: string): MoveDeps {
  const stub = env.TENANT_DO.getByName(tenantId);
  return {
    mgmt: openMgmtDb(),
    config,
    gate: {
      markMigrating: (id) => stub.markMigrating(id),
      releaseMigrating: (id, generation) => stub.releaseMigrating(id, generation),
    },
  };
}

/** Drive the tenant object's alarm until the migration stops running. */
async function settle(tenantId: string, migrationId: string): Promise<MigrationBody> {
  // The runtime may already be running the alarm the start set for now; then
  // `runDurableObjectAlarm` returns false at once, so this waits on time, not on attempts.
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const ran = await runDurableObjectAlarm(env.TENANT_DO.getByName(tenantId));
    const body = (await (await admin(`/api/tenants/${tenantId}/migrations/${migrationId}`)).json()) as MigrationBody;
    if (body.status !== "running") return body;
    if (!ran) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("migration did not settle within 20 s");
}

async function rememberOverMcp(key: string, content: string) {
  return post(key, {
    jsonrpc: "2.0",
    id: 1,
    method: "tools/call",
    params: { name: "remember", arguments: { content, kind: "fact" } },
  });
}

async function recallCount(key: string, query: string): Promise<number> {
  const client = await connect(key, "modern");
  const result = await client.callTool({ name: "recall", arguments: { query, limit: 50 } });
  await client.close();
  expect(result.isError).toBeFalsy();
  return ((result.structuredContent as { results: unknown[] }).results ?? []).length;
}

describe("moving a tenant to another database", () => {
  it("copies every table with matching counts and checksums, switches the pointer, and the next request uses the new database", async () => {
    const { tenant, apiKey, ids } = await seededTenant(120);
    // Warm this isolate's credential cache with the old pointer.
    expect(await recallCount(apiKey.key, "migrated memory")).toBeGreaterThan(0);
    const before = await tenantDb(tenant.id);

    const started = await admin(`/api/tenants/${tenant.id}/migrate`, {
      method: "POST",
      body: JSON.stringify({ target: { group: "default" } }),
    });
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as MigrationBody;
    expect(started.headers.get("location")).toBe(`/api/tenants/${tenant.id}/migrations/${id}`);

    const done = await settle(tenant.id, id);
    expect(done).toMatchObject({ status: "completed", step: "resumed", error: null });
    expect(done.tables.memories).toMatchObject({ copied: 120, source_rows: 120, target_rows: 120 });
    expect(done.tables.memory_links).toMatchObject({ source_rows: 1, target_rows: 1 });
    for (const table of Object.values(done.tables)) expect(table.target_checksum).toBe(table.source_checksum);
    expect(Date.parse(done.retain_until ?? "")).toBeGreaterThan(Date.now() + 24 * 3600_000);

    const after = await tenantDb(tenant.id);
    expect(after.record.url).not.toBe(before.record.url);
    expect(after.record.name).toBe(done.target.name);
    const copied = await after.db.execute("SELECT COUNT(*) AS n FROM memories", "read");
    expect(copied.rows[0]?.n).toBe(120);
    // The console's counts are not copied but counted again by the target's triggers, and agree.
    const counted = await after.db.execute("SELECT SUM(n) AS n FROM memory_counts", "read");
    expect(counted.rows[0]?.n).toBe(120);

    // The very next request, from the isolate that cached the old pointer, writes to the new database.
    const write = await rememberOverMcp(apiKey.key, "written after the move");
    expect(write.status).toBe(200);
    const inNew = await after.db.execute(
      "SELECT COUNT(*) AS n FROM memories WHERE content = 'written after the move'",
      "read",
    );
    expect(inNew.rows[0]?.n).toBe(1);
    // Search works on the copy (the FTS index was rebuilt by the target's triggers).
    expect(await recallCount(apiKey.key, "migrated memory number 7")).toBeGreaterThan(0);
    const got = await exports.default.fetch(
      new Request("http://localhost/mcp", {
        method: "POST",
        headers: {
          authorization: `Bearer ${apiKey.key}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 2,
          method: "tools/call",
          params: { name: "get", arguments: { ids: [ids[5]] } },
        }),
      }),
    );
    expect(await got.text()).toContain("migrated memory number 5");

    // The old database stays, fenced: a stale writer cannot land anything there.
    await expect(
      before.db.execute("INSERT INTO tenant_meta (key, value) VALUES ('late', 'write')", "write"),
    ).rejects.toThrow(/read-only while migration/);

    const audit = await openMgmtDb().execute(
      {
        sql: "SELECT action, metadata FROM audit_log WHERE tenant_id = ? AND action LIKE 'tenant.migration.%' ORDER BY id",
        args: [tenant.id],
      },
      "read",
    );
    const actions = audit.rows.map(
      (row) =>
        `${row.action}${row.action === "tenant.migration.step" ? `:${JSON.parse(String(row.metadata)).step}` : ""}`,
    );
    expect(actions).toEqual([
      "tenant.migration.start",
      ...MOVE_STEPS.slice(1, 6).map((step) => `tenant.migration.step:${step}`),
      "tenant.migration.switch",
      "tenant.migration.step:switched",
      "tenant.migration.complete",
      "tenant.migration.step:resumed",
    ]);

    // Finalize deletes the old database through the Platform API; repeating it is harmless.
    const finalized = await admin(`/api/tenants/${tenant.id}/migrations/${id}/finalize`, { method: "POST" });
    expect(finalized.status).toBe(200);
    expect(await finalized.json()).toMatchObject({ status: "finalized", old_database_deleted: true });
    const platform = await fetch(`${config.turso.apiUrl}/v1/organizations/local/databases/${before.record.name}`, {
      headers: { authorization: `Bearer ${config.turso.apiToken}` },
    });
    expect(platform.status).toBe(404);
    const again = await admin(`/api/tenants/${tenant.id}/migrations/${id}/finalize`, { method: "POST" });
    expect(again.status).toBe(200);
  });

  it("refuses writes with 503 and Retry-After while the copy runs, and keeps reads working", async () => {
    const { tenant, apiKey } = await seededTenant(5);
    const deps = stubDeps(tenant.id);
    const migration = await startMove(deps, tenant.id, { group: "default" }, { actor: "test" });
    await advanceMove(deps, migration.id, { stopAfter: "copied" });

    const refused = await rememberOverMcp(apiKey.key, "a write during the move");
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("30");
    const body = (await refused.json()) as { error: { message: string; data: { code: string } } };
    expect(body.error.data.code).toBe("tenant_migrating");
    expect(body.error.message).toMatch(/being moved to another database.*reads keep working.*Nothing was written/);
    expect(await recallCount(apiKey.key, "migrated memory")).toBe(5);

    const start = await admin(`/api/tenants/${tenant.id}/migrate`, {
      method: "POST",
      body: JSON.stringify({ target: { group: "default" } }),
    });
    expect(start.status).toBe(409);
    expect(await start.json()).toMatchObject({ error: { code: "migration_in_progress" } });
  });

  it("a write admitted from a lease granted before the move began lands before the fence and is copied; none acknowledged is lost", async () => {
    const { tenant, apiKey } = await seededTenant(3);
    const stub = env.TENANT_DO.getByName(tenant.id);
    const deps = stubDeps(tenant.id);
    // The clock stands still until the test moves it, so the lease below stays valid as long as the test needs.
    vi.useFakeTimers({ toFake: ["Date"] });
    expect((await rememberOverMcp(apiKey.key, "leased write before the move")).status).toBe(200);

    const migration = await startMove(deps, tenant.id, { group: "default" }, { actor: "test" });
    const marking = advanceMove(deps, migration.id, { stopAfter: "marked" });
    // The object refuses writes from the mark on, but this isolate's lease was granted before it.
    await vi.waitFor(async () => expect((await stub.databaseState()).migration).not.toBeNull(), { timeout: 10_000 });
    const windowBefore = (await stub.rateLimitStatus())?.used;
    const leased = await rememberOverMcp(apiKey.key, "leased write after the mark");
    expect(leased.status).toBe(200);
    const answer = (await leased.json()) as { result?: { isError?: boolean }; error?: unknown };
    expect(answer.error).toBeUndefined();
    expect(answer.result?.isError).toBeFalsy();
    // Admitted from the lease, without a call to the object; the fence is not up while such a lease can admit.
    expect((await stub.rateLimitStatus())?.used).toBe(windowBefore);
    expect((await tenantDb(tenant.id)).record.url).toBe(migration.source.url);

    // One lease lifetime on, that lease has ended: the fence goes up and the move is marked.
    afterOneLeaseLifetime();
    expect(await marking).toMatchObject({ done: false, move: { step: "marked" } });
    // The next lease says the tenant is moving: the write is refused before anything is written.
    const refused = await rememberOverMcp(apiKey.key, "write once the fence is up");
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: { data: { code: "tenant_migrating" } } });

    vi.useRealTimers();
    const done = await advanceMove(deps, migration.id);
    expect(done).toMatchObject({ done: true, move: { status: "completed", step: "resumed" } });
    const { db, record } = await tenantDb(tenant.id);
    expect(record.url).not.toBe(migration.source.url);
    const written = await db.execute(
      "SELECT content FROM memories WHERE content LIKE '%write%' ORDER BY content",
      "read",
    );
    expect(written.rows.map((row) => row.content)).toEqual([
      "leased write after the mark",
      "leased write before the move",
    ]);
  });

  const interrupted = MOVE_STEPS.slice(1, -1);
  for (const [index, step] of interrupted.entries()) {
    const action = step === "switched" || index % 2 === 0 ? "resume" : "cancel";
    it(`killed after "${step}": the tenant keeps its memories and reads, and ${action} finishes the job`, async () => {
      const { tenant, apiKey } = await seededTenant(30);
      const deps = stubDeps(tenant.id);
      const before = await tenantDb(tenant.id);
      const migration = await startMove(deps, tenant.id, { group: "default" }, { actor: "test" });
      const stopped = await advanceMove(deps, migration.id, { stopAfter: step });
      expect(stopped).toMatchObject({ done: false, move: { status: "running", step } });

      // Nothing lost, reads work, from whichever database the pointer names.
      expect(await recallCount(apiKey.key, "migrated memory")).toBe(30);

      if (action === "resume") {
        const resumed = await admin(`/api/tenants/${tenant.id}/migrations/${migration.id}/resume`, { method: "POST" });
        expect(resumed.status).toBe(202);
        const done = await settle(tenant.id, migration.id);
        expect(done).toMatchObject({ status: "completed", step: "resumed" });
        expect(done.tables.memories).toMatchObject({ source_rows: 30, target_rows: 30 });
        const after = await tenantDb(tenant.id);
        expect(after.record.url).not.toBe(before.record.url);
      } else {
        const cancelled = await admin(`/api/tenants/${tenant.id}/migrations/${migration.id}/cancel`, {
          method: "POST",
        });
        expect(cancelled.status).toBe(200);
        const body = (await cancelled.json()) as MigrationBody;
        expect(body.status).toBe("cancelled");
        expect((await tenantDb(tenant.id)).record.url).toBe(before.record.url);
        if (body.target.name) {
          const platform = await fetch(`${config.turso.apiUrl}/v1/organizations/local/databases/${body.target.name}`, {
            headers: { authorization: `Bearer ${config.turso.apiToken}` },
          });
          expect(platform.status).toBe(404);
        }
      }
      // Writes work again, on the database the pointer names, and everything is there.
      expect((await rememberOverMcp(apiKey.key, `written after ${action}`)).status).toBe(200);
      const { db } = await tenantDb(tenant.id);
      const rows = await db.execute("SELECT COUNT(*) AS n FROM memories", "read");
      expect(rows.rows[0]?.n).toBe(31);
    });
  }

  it("cannot cancel after the switch, and a failed migration lets the tenant write to its old database", async () => {
    const { tenant, apiKey } = await seededTenant(3);
    const other = await newTenant();
    const otherDb = await getTenantDatabase(openMgmtDb(), config, other.tenant.id);
    const deps = stubDeps(tenant.id);
    // A target that holds another tenant's data is refused, never overwritten.
    const migration = await startMove(
      deps,
      tenant.id,
      { url: otherDb!.coordinates.url, token: otherDb!.coordinates.authToken },
      { actor: "test" },
    );
    const result = await advanceMove(deps, migration.id);
    expect(result.move).toMatchObject({ status: "failed", step: "provisioned" });
    expect(result.move.error).toMatch(/does not belong to this tenant/);
    expect((await rememberOverMcp(apiKey.key, "written after the failure")).status).toBe(200);
    const cancelled = await admin(`/api/tenants/${tenant.id}/migrations/${migration.id}/cancel`, { method: "POST" });
    expect(cancelled.status).toBe(200);

    const second = await startMove(deps, tenant.id, { group: "default" }, { actor: "test" });
    await advanceMove(deps, second.id, { stopAfter: "switched" });
    const refused = await admin(`/api/tenants/${tenant.id}/migrations/${second.id}/cancel`, { method: "POST" });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ error: { code: "migration_not_cancellable" } });
  });
});

describe("retention of the old database", () => {
  it("the cron trigger deletes the old database once the retention period has run out, and only then", async () => {
    const { tenant } = await seededTenant(2);
    const deps = stubDeps(tenant.id);
    const old = await tenantDb(tenant.id);
    const migration = await startMove(deps, tenant.id, { group: "default" }, { actor: "test" });
    expect((await advanceMove(deps, migration.id)).move.status).toBe("completed");
    const platform = () =>
      fetch(`${config.turso.apiUrl}/v1/organizations/local/databases/${old.record.name}`, {
        headers: { authorization: `Bearer ${config.turso.apiToken}` },
      });

    const controller = { scheduledTime: Date.now(), cron: "*/5 * * * *", noRetry() {} } as ScheduledController;
    await worker.scheduled(controller, env);
    expect((await platform()).status).toBe(200);

    await openMgmtDb().execute(
      {
        sql: "UPDATE tenant_migrations SET retain_until = '2000-01-01T00:00:00.000Z' WHERE id = ?",
        args: [migration.id],
      },
      "write",
    );
    await worker.scheduled(controller, env);
    expect((await platform()).status).toBe(404);
    const record = await admin(`/api/tenants/${tenant.id}/migrations/${migration.id}`);
    expect(await record.json()).toMatchObject({ status: "finalized" });
  });
});
