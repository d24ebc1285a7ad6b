import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../../shared/db/client";
import { addIssue, resolveIssue } from "../../shared/memory/issues";
import { forgetMemories, linkMemories, updateMemory } from "../../shared/memory/memories";
import { remember } from "../../shared/memory/remember";
import { endWorkSession, startWorkSession } from "../../shared/memory/work-sessions";
import type { Plan } from "../../shared/plans";
import { getTenantDatabase } from "../../shared/tenants/tenants";
import { config, newTenant, openMgmtDb } from "./support";

const base = "http://localhost";

function call(key: string, path: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${key}`);
  return exports.default.fetch(`${base}${path}`, { ...init, headers });
}

async function tenantDb(tenantId: string) {
  const record = await getTenantDatabase(openMgmtDb(), config, tenantId);
  return openDatabase(record!.coordinates, 10_000);
}

interface ImportBody {
  format: string;
  created: number;
  skipped: number;
  failed: number;
  results: { line: number; file?: string; record: string; status: string; id?: string; reason?: string }[];
}

async function importText(key: string, body: string | FormData, query = "", contentType?: string) {
  const response = await call(key, `/api/import${query}`, {
    method: "POST",
    body,
    headers: contentType ? { "content-type": contentType } : {},
  });
  return {
    status: response.status,
    body: (await response.json()) as ImportBody & { error?: { code: string; message: string } },
  };
}

async function exported(key: string, format = "jsonl") {
  const response = await call(key, `/api/export?format=${format}`);
  expect(response.status).toBe(200);
  return { response, text: await response.text() };
}

/** A tenant with one of everything the export carries. */
async function richTenant(plan: Plan = "team") {
  const created = await newTenant(plan);
  const db = await tenantDb(created.tenant.id);
  const [a, b, c] = await remember(db, [
    {
      content: "We chose libSQL for tenant databases",
      title: "Database choice",
      kind: "decision",
      tags: ["db", "Turso"],
      files: ["shared/db/client.ts"],
      project: "core",
    },
    { content: "Hrana pipelines carry one stream per request", kind: "learning", tags: ["db"], project: "core" },
    { content: "Prefer small commits", kind: "preference" },
  ]);
  await updateMemory(db, {
    id: a!.id,
    content: "We chose libSQL (Turso) for tenant databases",
    tags: ["db", "turso", "storage"],
  });
  await linkMemories(db, a!.id, b!.id, "relates_to");
  await forgetMemories(db, [c!.id], false);
  const issue = await addIssue(db, {
    title: "Export is slow",
    description: "Export of big tenants is slow",
    severity: 4,
    project: "core",
  });
  await resolveIssue(db, issue.id, "streamed it");
  await startWorkSession(db, { project: "core", goal: "build export" });
  await endWorkSession(db, { project: "core", outcome: "done", nextSteps: ["bench it"], success: true });
  return created;
}

const withoutHeader = (text: string) =>
  text
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((record) => record.type !== "header");

describe("export", () => {
  it("streams every memory with versions, tags, files, links, issues and work sessions as typed JSONL", async () => {
    const { tenant, apiKey } = await richTenant();
    const { response, text } = await exported(apiKey.key);
    expect(response.headers.get("content-type")).toBe("application/x-ndjson; charset=utf-8");
    expect(response.headers.get("content-disposition")).toMatch(
      /attachment; filename="muninn-t[a-z0-9]+-\d{4}-\d\d-\d\d\.jsonl"/,
    );
    const records = text
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(records[0]).toMatchObject({ type: "header", format: "muninn-export", version: 1, tenant_id: tenant.id });
    expect(records.at(-1)).toEqual({ type: "footer", projects: 2, memories: 4, work_sessions: 1 });
    const decision = records.find((record) => record.title === "Database choice");
    expect(decision).toMatchObject({
      type: "memory",
      kind: "decision",
      project: "core",
      tags: ["db", "turso", "storage"],
      files: ["shared/db/client.ts"],
      version: 2,
      versions: [{ version: 1, content: "We chose libSQL for tenant databases", tags: ["db", "turso"] }],
      links: [{ relation: "relates_to" }],
    });
    expect(records.find((record) => record.kind === "issue")).toMatchObject({
      issue: { status: "resolved", severity: 4, resolution: "streamed it" },
    });
    expect(records.find((record) => record.kind === "preference")).toMatchObject({ status: "forgotten" });
    expect(records.find((record) => record.type === "work_session")).toMatchObject({
      project: "core",
      goal: "build export",
      outcome: "done",
      next_steps: ["bench it"],
      success: true,
    });

    const markdown = await exported(apiKey.key, "markdown");
    expect(markdown.response.headers.get("content-type")).toBe("text/markdown; charset=utf-8");
    expect(markdown.text).toContain("## Database choice");
    expect(markdown.text).toContain("tags: db, turso, storage");
    expect(markdown.text).toContain("4 memories, 1 work sessions, 2 projects.");
  });
});

describe("import", () => {
  it("round trip: export, import into a fresh tenant, export again gives the same records; a re-run creates nothing", async () => {
    const source = await richTenant();
    const { text } = await exported(source.apiKey.key);
    const fresh = await newTenant("team");

    const first = await importText(fresh.apiKey.key, text);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ format: "muninn", created: 4 + 1 + 1 + 1, failed: 0 });
    const again = await exported(fresh.apiKey.key);
    expect(withoutHeader(again.text)).toEqual(withoutHeader(text));

    const rerun = await importText(fresh.apiKey.key, text);
    expect(rerun.body.created).toBe(0);
    expect(rerun.body.failed).toBe(0);
    expect(
      rerun.body.results.filter((result) => result.record === "memory").every((r) => r.status === "unchanged"),
    ).toBe(true);
  });

  it("reads the reference memory server's knowledge graph, answers per line, and never lets a bad line stop the rest", async () => {
    const { tenant, apiKey } = await newTenant("team");
    const graph = [
      { type: "entity", name: "Ada", entityType: "person", observations: ["Writes the billing code", "Prefers Rust"] },
      { type: "entity", name: "Muninn", entityType: "project", observations: ["Memory service for agents"] },
      "this line is not JSON",
      { type: "relation", from: "Ada", to: "Muninn", relationType: "works_on" },
      { type: "relation", from: "Ada", to: "Nobody", relationType: "knows" },
      { type: "entity", observations: ["no name"] },
    ]
      .map((line) => (typeof line === "string" ? line : JSON.stringify(line)))
      .join("\n");
    const { status, body } = await importText(apiKey.key, graph);
    expect(status).toBe(200);
    expect(body).toMatchObject({ format: "knowledge-graph", created: 3, failed: 3 });
    expect(body.results.map((r) => [r.line, r.record, r.status])).toEqual([
      [1, "memory", "created"],
      [2, "memory", "created"],
      [3, "other", "failed"],
      [4, "link", "created"],
      [5, "link", "failed"],
      [6, "other", "failed"],
    ]);
    expect(body.results[4]?.reason).toMatch(/"Nobody".*neither in the file nor stored/);
    const db = await tenantDb(tenant.id);
    const ada = await db.execute("SELECT title, content, tags, source FROM memories WHERE title = 'Ada'", "read");
    expect(ada.rows[0]).toMatchObject({
      content: "- Writes the billing code\n- Prefers Rust\n- works_on → Muninn",
      tags: '["person"]',
      source: "import:knowledge-graph",
    });
    const links = await db.execute("SELECT COUNT(*) AS n FROM memory_links", "read");
    expect(links.rows[0]?.n).toBe(1);

    const rerun = await importText(apiKey.key, graph);
    expect(rerun.body).toMatchObject({ created: 0, failed: 3 });
    expect(rerun.body.results[0]).toMatchObject({ status: "unchanged", id: body.results[0]?.id });
    expect(rerun.body.results[3]).toMatchObject({ record: "link", status: "skipped", reason: "link exists" });
  });

  it("reads a folder of Markdown notes, one memory per note or per heading, with front-matter tags", async () => {
    const { tenant, apiKey } = await newTenant("team");
    const form = new FormData();
    form.append(
      "file",
      new File(
        ["---\ntitle: Deploys\ntags: [ops, Release]\nkind: procedure\n---\nRun the migrations first, then deploy.\n"],
        "deploys.md",
      ),
    );
    form.append("file", new File(["# Caching\n\nCredentials are cached for 60 s.\n"], "notes/caching.md"));
    const byNote = await importText(apiKey.key, form);
    expect(byNote.status).toBe(200);
    expect(byNote.body).toMatchObject({ format: "markdown", created: 2, failed: 0 });
    const db = await tenantDb(tenant.id);
    const deploys = await db.execute("SELECT kind, tags FROM memories WHERE title = 'Deploys'", "read");
    expect(deploys.rows[0]).toMatchObject({ kind: "procedure", tags: '["ops","release"]' });

    const sections =
      "---\ntags:\n  - handbook\n---\n# Reviews\nTwo approvals.\n\n## Releases\nOn Tuesdays.\n\n## Empty\n";
    const byHeading = await importText(apiKey.key, sections, "?split=heading", "text/markdown");
    expect(byHeading.body).toMatchObject({ created: 2, skipped: 1 });
    expect(byHeading.body.results.map((r) => [r.line, r.status])).toEqual([
      [5, "created"],
      [8, "created"],
      [11, "skipped"],
    ]);
    const releases = await db.execute("SELECT content, tags FROM memories WHERE title = 'Releases'", "read");
    expect(releases.rows[0]).toMatchObject({ content: "On Tuesdays.", tags: '["handbook"]' });
  });

  it("an import beyond the monthly quota creates what fits, reports each line over it, and counts what it creates", async () => {
    const { tenant, apiKey } = await newTenant("free");
    const lines = Array.from({ length: 10_001 }, (_, i) =>
      JSON.stringify({ type: "entity", name: `e${i}`, entityType: "thing", observations: [`fact ${i}`] }),
    ).join("\n");
    const imported = await importText(apiKey.key, lines);
    expect(imported.status).toBe(200);
    expect(imported.body).toMatchObject({ created: 10_000, failed: 1 });
    expect(imported.body.results.at(-1)).toMatchObject({ line: 10_001, record: "memory", status: "failed" });
    expect(imported.body.results.at(-1)?.reason).toMatch(
      /^not imported: this month's quota is spent \(10000 of 10000 tool calls used; each record an import creates counts as one; it resets at /,
    );
    const db = await tenantDb(tenant.id);
    expect((await db.execute("SELECT COUNT(*) AS n FROM memories", "read")).rows[0]?.n).toBe(10_000);
    const usage = (await (await call(apiKey.key, "/api/usage")).json()) as {
      quotas: { tool_calls_per_month: { used: number } };
    };
    expect(usage.quotas.tool_calls_per_month.used).toBe(10_000);
  });

  it("the operator can export and import any tenant; bad requests get clear errors", async () => {
    const source = await richTenant();
    const admin = (path: string, init: RequestInit = {}) => call("test-admin-token", path, init);
    const dump = await (await admin(`/api/tenants/${source.tenant.id}/export`)).text();
    const target = await newTenant("team");
    const response = await admin(`/api/tenants/${target.tenant.id}/import`, { method: "POST", body: dump });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ format: "muninn", failed: 0 });

    const unknown = await importText(target.apiKey.key, "just some text\n");
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ code: "unknown_format" });
    const badFormat = await call(target.apiKey.key, "/api/export?format=csv");
    expect(badFormat.status).toBe(400);
  });
});
