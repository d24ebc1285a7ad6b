import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { signUp } from "../../shared/accounts/signup";
import { openDatabase } from "../../shared/db/client";
import { addIssue } from "../../shared/memory/issues";
import { remember } from "../../shared/memory/remember";
import { startWorkSession } from "../../shared/memory/work-sessions";
import { getTenantDatabase } from "../../shared/tenants/tenants";
import { isWriteTool, TOOLS } from "../../workers/mcp/tools/registry";
import { post } from "./mcp-support";
import { connect as connectOAuth } from "./oauth-support";
import { config, leasesSettled, openMgmtDb, workerFetch } from "./support";

/**
 * Every door that reads or writes memory — each MCP tool (each action of the
 * multi-action ones), the MCP resources, `POST /api/import` and
 * `GET /api/export` — tried with every kind of credential: API keys scoped
 * `mcp:read`, `mcp:tools` and `keys:manage`, and an OAuth token granted
 * `mcp:read`. Reads need `mcp:read` or `mcp:tools`; writes need
 * `mcp:tools`; a refusal is 403 `insufficient_scope` with the challenge
 * naming the scope, and a refused write changes nothing.
 */

const BASE = "http://localhost";
const PASSWORD = "a long enough passphrase for doors";

type Fixture = { a: string; b: string; c: string; issue: string };

interface McpDoor {
  door: string;
  method: "tools/call" | "resources/read";
  /** Tool name, for `tools/call`. */
  tool?: string;
  params(f: Fixture): Record<string, unknown>;
}

/** One case per tool action, in an order that lets `mcp:tools` run all of them on one fixture. */
const TOOL_CASES: { door: string; tool: string; params(f: Fixture): Record<string, unknown> }[] = [
  { door: "context", tool: "context", params: () => ({ project: "core", task: "database" }) },
  { door: "recall", tool: "recall", params: () => ({ query: "libsql database", all_projects: true }) },
  { door: "get", tool: "get", params: (f) => ({ ids: [f.a] }) },
  { door: "list", tool: "list", params: () => ({ all_projects: true }) },
  { door: "remember", tool: "remember", params: () => ({ content: "planted by a reader", project: "core" }) },
  {
    door: "remember (batch)",
    tool: "remember",
    params: () => ({ memories: [{ content: "batch one" }, { content: "batch two" }] }),
  },
  { door: "update", tool: "update", params: (f) => ({ id: f.a, content: "rewritten by a reader" }) },
  { door: "forget", tool: "forget", params: (f) => ({ ids: [f.b] }) },
  { door: "restore", tool: "restore", params: (f) => ({ ids: [f.b] }) },
  { door: "link", tool: "link", params: (f) => ({ from_id: f.a, to_id: f.c, relation: "depends_on" }) },
  { door: "track add", tool: "track", params: () => ({ action: "add", title: "planted issue", project: "core" }) },
  { door: "track resolve", tool: "track", params: (f) => ({ action: "resolve", id: f.issue, resolution: "gone" }) },
  { door: "track list", tool: "track", params: () => ({ action: "list", project: "core" }) },
  { door: "session start", tool: "session", params: () => ({ action: "start", project: "core", goal: "plant" }) },
  { door: "session end", tool: "session", params: () => ({ action: "end", project: "core", outcome: "planted" }) },
  { door: "projects list", tool: "projects", params: () => ({ action: "list" }) },
  { door: "projects create", tool: "projects", params: () => ({ action: "create", project: "planted" }) },
  {
    door: "projects rename",
    tool: "projects",
    params: () => ({ action: "rename", project: "planted", new_slug: "moved" }),
  },
];
const TOOL_DOORS: McpDoor[] = TOOL_CASES.map((door) => ({
  door: door.door,
  method: "tools/call" as const,
  tool: door.tool,
  params: (f: Fixture) => ({ name: door.tool, arguments: door.params(f) }),
}));

const RESOURCE_DOORS: McpDoor[] = [
  { door: "resource memory", method: "resources/read", params: (f) => ({ uri: `muninn://memories/${f.a}` }) },
  { door: "resource briefing", method: "resources/read", params: () => ({ uri: "muninn://projects/core/briefing" }) },
];

const writes = (door: McpDoor) => door.method === "tools/call" && isWriteTool(door.tool as string);

async function tenantDb(tenantId: string) {
  const record = await getTenantDatabase(openMgmtDb(), config, tenantId);
  if (!record) throw new Error("tenant without a database");
  return openDatabase(record.coordinates, 10_000);
}

/** Everything a write could change, without the access counters a read legitimately bumps. */
async function snapshot(tenantId: string): Promise<string> {
  const db = await tenantDb(tenantId);
  const results = await db.batch(
    [
      `SELECT id, project, kind, title, content, tags, files, importance, status, version, issue_status, resolution,
              superseded_by, forgotten_at, updated_at FROM memories ORDER BY id`,
      "SELECT * FROM memory_versions ORDER BY memory_id, version",
      "SELECT from_id, to_id, relation FROM memory_links ORDER BY 1, 2, 3",
      "SELECT slug, name FROM projects ORDER BY slug",
      "SELECT id, project, goal, outcome, ended_at FROM work_sessions ORDER BY id",
    ],
    "read",
  );
  return JSON.stringify(results.map((result) => result.rows));
}

/**
 * Tool calls counted for the tenant, once every lease of its budget has been
 * returned: an allowed call is charged from the isolate's lease and counted
 * when the lease is (docs/rate-limits.md, "Leases"), about a second later, which
 * is why the test below has a longer timeout. Read from the object, so reading
 * it takes no lease itself.
 */
async function quotaUsed(tenantId: string): Promise<number> {
  await leasesSettled(tenantId);
  return (await env.TENANT_DO.getByName(tenantId).usageStatus())?.usage.toolCalls ?? 0;
}

async function createKey(fullKey: string, scopes: string[]): Promise<string> {
  const response = await workerFetch(`${BASE}/api/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${fullKey}`, "content-type": "application/json" },
    body: JSON.stringify({ name: scopes.join(" "), scopes }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { key: string }).key;
}

async function fixture(tenantId: string): Promise<Fixture> {
  const db = await tenantDb(tenantId);
  const [a, b, c] = await remember(db, [
    { content: "We chose libSQL for tenant databases", title: "Database", project: "core", kind: "decision" },
    { content: "Deploys happen on Tuesdays", project: "core" },
    { content: "The pool holds ten connections", project: "core" },
  ]);
  const issue = await addIssue(db, { title: "export is slow", project: "core" });
  await startWorkSession(db, { project: "core", goal: "fixture" });
  if (!a || !b || !c) throw new Error("fixture not saved");
  return { a: a.id, b: b.id, c: c.id, issue: issue.id };
}

function mcpCall(credential: string, door: McpDoor, f: Fixture) {
  return post(credential, { jsonrpc: "2.0", id: 1, method: door.method, params: door.params(f) });
}

const IMPORT_LINE = JSON.stringify({ type: "entity", name: "Planted", entityType: "note", observations: ["obey me"] });

function importCall(credential: string) {
  return workerFetch(`${BASE}/api/import`, {
    method: "POST",
    headers: { authorization: `Bearer ${credential}`, "content-type": "application/x-ndjson" },
    body: IMPORT_LINE,
  });
}

function exportCall(credential: string) {
  return workerFetch(`${BASE}/api/export`, { headers: { authorization: `Bearer ${credential}` } });
}

async function expectRefused(response: Response, scope: string) {
  expect(response.status).toBe(403);
  expect(response.headers.get("www-authenticate")).toContain(`error="insufficient_scope", scope="${scope}"`);
  const body = (await response.json()) as { error?: { code: string }; data?: unknown };
  return body;
}

describe("every door to memory, with every scope", () => {
  it("enumerates every tool the server lists", () => {
    const covered = new Set(TOOL_DOORS.map((door) => door.tool));
    expect([...covered].sort()).toEqual(TOOLS.map((tool) => tool.name).sort());
  });

  it("reads need mcp:read or mcp:tools, writes mcp:tools; refused writes change nothing and spend no quota", async () => {
    // Pro: the test makes a couple of hundred requests, more than the free plan's minute allows.
    const email = `doors-${crypto.randomUUID().slice(0, 8)}@example.test`;
    const signed = await signUp(openMgmtDb(), config, { email, password: PASSWORD, orgName: "Doors", plan: "pro" });
    const account = { email, password: PASSWORD, tenantId: signed.tenant.id, apiKey: signed.apiKey.key };
    const full = account.apiKey;
    const f = await fixture(account.tenantId);
    const oauth = await connectOAuth(account, { scope: "mcp:read" });
    expect(oauth.tokens.scope).toBe("mcp:read");
    const credentials: Record<string, string> = {
      "key mcp:read": await createKey(full, ["mcp:read"]),
      "key keys:manage": await createKey(full, ["keys:manage"]),
      "oauth mcp:read": oauth.tokens.access_token,
    };
    const readers = new Set(["key mcp:read", "oauth mcp:read"]);
    const outcomes: string[] = [];

    for (const [who, credential] of Object.entries(credentials)) {
      for (const door of [...TOOL_DOORS, ...RESOURCE_DOORS]) {
        const before = await snapshot(account.tenantId);
        const used = await quotaUsed(account.tenantId);
        const response = await mcpCall(credential, door, f);
        const allowed = readers.has(who) && !writes(door);
        if (allowed) {
          expect(response.status, `${who} ${door.door}`).toBe(200);
          const body = (await response.json()) as { result?: { isError?: boolean }; error?: unknown };
          expect(body.error, `${who} ${door.door}`).toBeUndefined();
          expect(body.result?.isError, `${who} ${door.door}`).not.toBe(true);
        } else {
          // Without any MCP scope the challenge asks for the baseline; a reader is asked for mcp:tools too.
          await expectRefused(response, "mcp:tools");
          expect(await snapshot(account.tenantId), `${who} ${door.door} changed memory`).toBe(before);
          expect(await quotaUsed(account.tenantId), `${who} ${door.door} spent quota`).toBe(used);
        }
        outcomes.push(`${who} ${door.door}: ${allowed ? "allowed" : "refused"}`);
      }

      const before = await snapshot(account.tenantId);
      const imported = await importCall(credential);
      const refusal = await expectRefused(imported, "mcp:tools");
      expect(refusal.error?.code).toBe("insufficient_scope");
      expect(await snapshot(account.tenantId), `${who} import changed memory`).toBe(before);

      const exported = await exportCall(credential);
      if (readers.has(who)) {
        expect(exported.status).toBe(200);
        expect(await exported.text()).toContain("We chose libSQL for tenant databases");
      } else {
        expect((await expectRefused(exported, "mcp:read")).error?.code).toBe("insufficient_scope");
      }
    }
    expect(outcomes).toContain("key mcp:read get: allowed");
    expect(outcomes).toContain("oauth mcp:read remember: refused");
    expect(outcomes).toContain("key keys:manage recall: refused");

    // The same doors with mcp:tools: every one of them runs.
    const writer = await createKey(full, ["mcp:tools"]);
    for (const door of [...TOOL_DOORS, ...RESOURCE_DOORS]) {
      const response = await mcpCall(writer, door, f);
      expect(response.status, door.door).toBe(200);
      const body = (await response.json()) as { result?: { isError?: boolean; content?: unknown }; error?: unknown };
      expect(body.error, door.door).toBeUndefined();
      expect(body.result?.isError, `${door.door}: ${JSON.stringify(body.result?.content)}`).not.toBe(true);
    }
    const imported = await importCall(writer);
    expect(imported.status).toBe(200);
    expect(await imported.json()).toMatchObject({ created: 1, failed: 0 });
    const exported = await exportCall(writer);
    expect(exported.status).toBe(200);
    expect(await exported.text()).toContain("obey me");
  }, 90_000);
});
