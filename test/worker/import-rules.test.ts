import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { UsageMeter } from "../../durable-objects/tenant/quota";
import { openDatabase } from "../../shared/db/client";
import { getTenantDatabase } from "../../shared/tenants/tenants";
import { callError, callOk, connect } from "./mcp-support";
import { config, newTenant, openMgmtDb, workerFetch } from "./support";

/**
 * Import goes through the memory door: every field of every record is held
 * to the tools' rules, every record created is metered, and a bad line (or
 * one the quota no longer covers) is reported and skipped while the good
 * ones go in. The remember batch is metered per memory through the same door.
 */

const BASE = "http://localhost";
const NOW = "2026-11-01T10:00:00.000Z";

interface ImportBody {
  created: number;
  skipped: number;
  failed: number;
  results: { line: number; record: string; status: string; id?: string; reason?: string }[];
}

async function importLines(key: string, records: unknown[]) {
  const response = await workerFetch(`${BASE}/api/import`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/x-ndjson" },
    body: records.map((record) => JSON.stringify(record)).join("\n"),
  });
  return { status: response.status, body: (await response.json()) as ImportBody };
}

async function tenantDb(tenantId: string) {
  const record = await getTenantDatabase(openMgmtDb(), config, tenantId);
  if (!record) throw new Error("tenant without a database");
  return openDatabase(record.coordinates, 10_000);
}

async function counts(tenantId: string) {
  const db = await tenantDb(tenantId);
  const [memories, projects, sessions, links, versions] = await db.batch(
    [
      "SELECT COUNT(*) AS n FROM memories",
      "SELECT COUNT(*) AS n FROM projects",
      "SELECT COUNT(*) AS n FROM work_sessions",
      "SELECT COUNT(*) AS n FROM memory_links",
      "SELECT COUNT(*) AS n FROM memory_versions",
    ],
    "read",
  );
  const n = (result: typeof memories) => Number(result?.rows[0]?.n);
  return {
    memories: n(memories),
    projects: n(projects),
    sessions: n(sessions),
    links: n(links),
    versions: n(versions),
  };
}

/** Set this month's tool calls to `used`, as that many earlier calls would have. */
async function useToolCalls(tenantId: string, used: number) {
  await runInDurableObject(env.TENANT_DO.getByName(tenantId), (_instance, state) => {
    const meter = new UsageMeter(state.storage.sql);
    meter.addToolCalls(used - meter.current(Date.now()).toolCalls, Date.now());
  });
  // Written behind the object's back: make it read its counters again (as metering.test.ts does).
  await evictDurableObject(env.TENANT_DO.getByName(tenantId));
}

async function quotaUsed(key: string): Promise<number> {
  const response = await workerFetch(`${BASE}/api/usage`, { headers: { authorization: `Bearer ${key}` } });
  return ((await response.json()) as { quotas: { tool_calls_per_month: { used: number } } }).quotas.tool_calls_per_month
    .used;
}

const HEADER = { type: "header", format: "muninn-export", version: 1, tenant_id: "t_elsewhere", exported_at: NOW };

function memory(id: string, fields: Record<string, unknown> = {}) {
  return {
    type: "memory",
    id,
    project: "core",
    kind: "fact",
    title: `title of ${id}`,
    content: `content of ${id}`,
    tags: [],
    files: [],
    importance: 3,
    status: "active",
    version: 1,
    created_at: NOW,
    updated_at: NOW,
    versions: [],
    links: [],
    ...fields,
  };
}

function workSession(id: string, fields: Record<string, unknown> = {}) {
  return { type: "work_session", id, project: "core", goal: "ship", next_steps: [], started_at: NOW, ...fields };
}

describe("import through the memory door", () => {
  it("holds every field to the tools' rules: each bad line is reported and skipped, the good ones go in", async () => {
    const { tenant, apiKey } = await newTenant("team");
    const before = await counts(tenant.id);
    const { status, body } = await importLines(apiKey.key, [
      HEADER, // line 1
      { type: "project", slug: "core", name: "Core", created_at: NOW },
      { type: "project", slug: "huge", name: "n".repeat(100_000), created_at: NOW },
      { type: "project", slug: "../../not a slug\u0000", name: "escape", created_at: NOW },
      workSession("ws_good"), // line 5
      workSession("ws_hugegoal", { goal: "g".repeat(2 * 1024 * 1024) }),
      workSession("ws_badproject", { project: "../../not a slug\u0000" }),
      memory("m_good"),
      memory("m_importance", { importance: 1e308 }),
      memory("m_bigtag", { tags: ["t".repeat(50_000)] }), // line 10
      memory("m_bigversion", {
        version: 2,
        versions: [
          {
            version: 1,
            title: null,
            content: "v".repeat(5 * 1024 * 1024),
            tags: [],
            files: [],
            importance: 3,
            replaced_at: NOW,
          },
        ],
      }),
      memory("m_nultitle", { title: "a\u0000b" }),
      memory("m_bigcontent", { content: "c".repeat(33 * 1024) }),
      memory("m_badproject", { project: "../../etc" }),
      memory("m_badseverity", {
        kind: "issue",
        issue: { status: "open", severity: 99, resolution: null, resolved_at: null },
      }), // 15
      memory("m_badkey", { idempotency_key: "k".repeat(500) }),
      memory("m_linked", { links: [{ to_id: "m_good", relation: "relates_to", created_at: NOW }] }),
      memory("m_manylinks", {
        links: Array.from({ length: 1001 }, () => ({ to_id: "m_good", relation: "relates_to", created_at: NOW })),
      }),
    ]);
    expect(status).toBe(200);
    const byLine = new Map(body.results.map((result) => [result.line, result]));
    const failed = (line: number, reason: RegExp) => {
      expect(byLine.get(line), `line ${line}`).toMatchObject({ status: "failed" });
      expect(byLine.get(line)?.reason, `line ${line}`).toMatch(reason);
    };
    failed(3, /^name: must be at most 200 characters/);
    failed(4, /^slug: must be a slug/);
    failed(6, /^goal: must be at most 2000 characters/);
    failed(7, /^project: must be a slug/);
    failed(9, /^importance: must be a whole number from 1 to 5/);
    failed(10, /^tags\.0: each tag must be at most 64 characters/);
    failed(11, /^versions\.0\.content: must be at most 32768 bytes/);
    failed(12, /^title: must not contain control characters/);
    failed(13, /^content: must be at most 32768 bytes/);
    failed(14, /^project: must be a slug/);
    failed(15, /^issue\.severity: must be from 1 to 5/);
    failed(16, /^idempotency_key: must be at most 128 characters/);
    failed(18, /^links: at most 1000 links a memory/);
    for (const line of [5, 8, 17]) expect(byLine.get(line), `line ${line}`).toMatchObject({ status: "created" });
    expect(byLine.get(2)).toMatchObject({ record: "project", status: "created", id: "core" });
    expect(body).toMatchObject({ created: 5, failed: 13 });

    const after = await counts(tenant.id);
    expect(after.memories - before.memories).toBe(2);
    expect(after.sessions - before.sessions).toBe(1);
    expect(after.links - before.links).toBe(1);
    expect(after.versions).toBe(before.versions);
    const db = await tenantDb(tenant.id);
    const projects = await db.execute("SELECT slug, length(name) AS chars FROM projects ORDER BY slug", "read");
    expect(projects.rows.map((row) => [row.slug, Number(row.chars)])).toEqual([
      ["core", 4],
      ["default", 7],
    ]);
  });

  it("at quota an import creates nothing more and says why on every line; usage stays at the limit", async () => {
    const { tenant, apiKey } = await newTenant("free");
    await importLines(apiKey.key, [HEADER, memory("m_zero"), memory("m_first")]);
    await useToolCalls(tenant.id, 10_000);
    const before = await counts(tenant.id);

    const { status, body } = await importLines(apiKey.key, [
      HEADER,
      { type: "project", slug: "fresh", name: "Fresh", created_at: NOW },
      memory("m_second"),
      // Stored already (unchanged), but its link to another stored memory would be a new record.
      memory("m_first", { links: [{ to_id: "m_zero", relation: "relates_to", created_at: NOW }] }),
      workSession("ws_atquota"),
    ]);
    expect(status).toBe(200);
    expect(body).toMatchObject({ created: 0, failed: 4, skipped: 1, unchanged: 1 });
    for (const record of ["project", "memory", "link", "work_session"]) {
      const result = body.results.find((r) => r.record === record);
      expect(result, record).toMatchObject({ status: "failed" });
      expect(result?.reason, record).toMatch(
        /^not imported: this month's quota is spent \(10000 of 10000 tool calls used; each record an import creates counts as one; it resets at /,
      );
    }
    expect(await counts(tenant.id)).toEqual(before);
    expect(await quotaUsed(apiKey.key)).toBe(10_000);
  });

  it("near the quota an import creates what fits, in file order, and counts exactly that", async () => {
    const { tenant, apiKey } = await newTenant("free");
    await useToolCalls(tenant.id, 9_998);
    const { body } = await importLines(apiKey.key, [HEADER, memory("m_a"), memory("m_b"), memory("m_c")]);
    expect(body.results.map((result) => [result.line, result.status])).toEqual([
      [1, "skipped"],
      [2, "created"],
      [3, "created"],
      [4, "failed"],
    ]);
    expect(await quotaUsed(apiKey.key)).toBe(10_000);
    // A duplicate costs nothing: what was taken for it is given back.
    await useToolCalls(tenant.id, 9_000);
    const again = await importLines(apiKey.key, [HEADER, memory("m_a"), memory("m_d")]);
    expect(again.body).toMatchObject({ created: 1, skipped: 1, unchanged: 1 });
    expect(await quotaUsed(apiKey.key)).toBe(9_001);
  });
});

describe("remember through the memory door", () => {
  it("refuses control characters in one-line fields; content keeps tabs and line breaks", async () => {
    const { apiKey } = await newTenant("free");
    const client = await connect(apiKey.key, "modern");
    try {
      expect(await callError(client, "remember", { content: "fine", title: "bell\u0007" })).toMatch(
        /title: must not contain control characters/,
      );
      expect(await callError(client, "remember", { content: "x", tags: ["a\u001bb"] })).toMatch(
        /tags\.0: must not contain control characters/,
      );
      expect(await callError(client, "remember", { content: "escape \u001b[31m red" })).toMatch(
        /content: must not contain control characters other than tab, line feed and carriage return/,
      );
      const saved = await callOk<{ saved: number }>(client, "remember", { content: "def f():\n\treturn 1\r\n" });
      expect(saved.saved).toBe(1);
    } finally {
      await client.close();
    }
  });

  it("a batch costs one unit per memory saved; one that does not fit saves nothing", async () => {
    const { tenant, apiKey } = await newTenant("free");
    const client = await connect(apiKey.key, "legacy");
    try {
      await useToolCalls(tenant.id, 100);
      const batch = (tag: string, n: number) => ({
        memories: Array.from({ length: n }, (_, i) => ({ content: `${tag} memory ${i}` })),
      });
      await callOk(client, "remember", batch("first", 5));
      expect(await quotaUsed(apiKey.key)).toBe(105);

      // Duplicates are given back: three of these four exist, so the call costs its own unit only.
      await callOk(client, "remember", {
        memories: [...batch("first", 3).memories, { content: "a new one" }],
      });
      expect(await quotaUsed(apiKey.key)).toBe(106);

      await useToolCalls(tenant.id, 9_997);
      const before = await counts(tenant.id);
      const refused = await callError(client, "remember", batch("late", 5));
      expect(refused).toMatch(
        /^Plan quota exceeded: this needs 5 of this month's 10000 tool calls and 3 are left; nothing was written/,
      );
      expect(await counts(tenant.id)).toEqual(before);
      // The call itself ran (and was charged, as every tool call that runs is); nothing else was taken.
      expect(await quotaUsed(apiKey.key)).toBe(9_998);
      await callOk(client, "remember", batch("fits", 2));
      expect(await quotaUsed(apiKey.key)).toBe(10_000);
    } finally {
      await client.close();
    }
  });
});
