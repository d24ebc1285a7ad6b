import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../../shared/db/client";
import { getTenantDatabase } from "../../shared/tenants/tenants";
import { callOk, connect } from "./mcp-support";
import { config, newTenant, openMgmtDb } from "./support";

interface ImportBody {
  format: string;
  created: number;
  updated: number;
  unchanged: number;
  skipped: number;
  failed: number;
  results: { line: number; record: string; status: string; id?: string; reason?: string }[];
}

async function importText(key: string, body: string): Promise<ImportBody> {
  const response = await exports.default.fetch("http://localhost/api/import", {
    method: "POST",
    body,
    headers: { authorization: `Bearer ${key}` },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as ImportBody;
}

async function tenantDb(tenantId: string) {
  const record = await getTenantDatabase(openMgmtDb(), config, tenantId);
  return openDatabase(record!.coordinates, 10_000);
}

type Entity = { name: string; entityType: string; observations: string[] };
const jsonl = (entities: Entity[], relations: { from: string; to: string; relationType: string }[] = []) =>
  [
    ...entities.map((entity) => JSON.stringify({ type: "entity", ...entity })),
    ...relations.map((relation) => JSON.stringify({ type: "relation", ...relation })),
  ].join("\n");

describe("imports that update instead of piling up", () => {
  it("re-importing a changed server-memory graph versions the changed entities, skips the same, adds the new and leaves the removed", async () => {
    const { tenant, apiKey } = await newTenant("team");
    const before: Entity[] = [
      { name: "Alice Chen", entityType: "person", observations: ["Leads the billing team"] },
      { name: "Bob Ortiz", entityType: "person", observations: ["Runs the on-call rotation"] },
      { name: "Muninn", entityType: "project", observations: ["Memory service for agents"] },
      { name: "Legacy API", entityType: "project", observations: ["Retired in 2025"] },
    ];
    const first = await importText(
      apiKey.key,
      jsonl(before, [{ from: "Alice Chen", to: "Muninn", relationType: "works_on" }]),
    );
    expect(first).toMatchObject({ format: "knowledge-graph", created: 5, updated: 0, unchanged: 0, failed: 0 });
    const idOf = new Map(first.results.filter((r) => r.record === "memory").map((r) => [r.line, r.id]));

    const after: Entity[] = [
      { name: "Alice Chen", entityType: "person", observations: ["Leads the billing team", "Prefers Rust"] },
      { name: "Bob Ortiz", entityType: "person", observations: ["Runs the on-call rotation"] },
      { name: "Muninn", entityType: "project", observations: ["Memory service for agents, hosted on Cloudflare"] },
      { name: "Dana Park", entityType: "person", observations: ["Joined the platform team"] },
    ];
    const second = await importText(
      apiKey.key,
      jsonl(after, [{ from: "Alice Chen", to: "Muninn", relationType: "works_on" }]),
    );
    expect(second).toMatchObject({ created: 1, updated: 2, unchanged: 1, skipped: 1, failed: 0 });
    expect(second.results.map((r) => [r.line, r.record, r.status])).toEqual([
      [1, "memory", "updated"],
      [2, "memory", "unchanged"],
      [3, "memory", "updated"],
      [4, "memory", "created"],
      [5, "link", "skipped"],
    ]);
    // Updated and unchanged entities keep the memory they were first imported as.
    expect(second.results.slice(0, 3).map((r) => r.id)).toEqual([idOf.get(1), idOf.get(2), idOf.get(3)]);

    const db = await tenantDb(tenant.id);
    const current = await db.execute(
      "SELECT title, content, version, status FROM memories WHERE status = 'active' ORDER BY title",
      "read",
    );
    // Exactly one current memory per entity; the one that left the source is still there, untouched.
    expect(current.rows.map((row) => [row.title, row.version])).toEqual([
      ["Alice Chen", 2],
      ["Bob Ortiz", 1],
      ["Dana Park", 1],
      ["Legacy API", 1],
      ["Muninn", 2],
    ]);
    expect(current.rows[0]?.content).toBe("- Leads the billing team\n- Prefers Rust\n- works_on → Muninn");
    const history = await db.execute(
      {
        sql: "SELECT version, content FROM memory_versions WHERE memory_id = ? ORDER BY version",
        args: [idOf.get(1) ?? ""],
      },
      "read",
    );
    expect(history.rows.map((row) => [row.version, row.content])).toEqual([
      [1, "- Leads the billing team\n- works_on → Muninn"],
    ]);

    // Recall answers the current state only.
    const client = await connect(apiKey.key, "modern");
    const found = await callOk<{ results: { id: string; snippet: string }[] }>(client, "recall", {
      query: "Alice Chen Rust",
    });
    expect(found.results.filter((hit) => hit.id === idOf.get(1))).toHaveLength(1);
    expect(found.results[0]?.snippet).toContain("Prefers Rust");

    // The same file once more changes nothing.
    const third = await importText(
      apiKey.key,
      jsonl(after, [{ from: "Alice Chen", to: "Muninn", relationType: "works_on" }]),
    );
    expect(third).toMatchObject({ created: 0, updated: 0, unchanged: 4, skipped: 1, failed: 0 });
  });

  it("updates a record of our own export by its id, keeping what the memory was as a version", async () => {
    const { apiKey } = await newTenant("team");
    const client = await connect(apiKey.key, "modern");
    const saved = await callOk<{ results: { id: string }[] }>(client, "remember", {
      content: "Deploys go out on Tuesdays.",
      title: "Deploy day",
      project: "ops",
    });
    const id = saved.results[0]?.id;
    const response = await exports.default.fetch("http://localhost/api/export?format=jsonl", {
      headers: { authorization: `Bearer ${apiKey.key}` },
    });
    const lines = (await response.text()).trim().split("\n");
    const changed = lines
      .map((line) => {
        const record = JSON.parse(line) as Record<string, unknown>;
        return JSON.stringify(record.id === id ? { ...record, content: "Deploys go out on Thursdays." } : record);
      })
      .join("\n");
    const result = await importText(apiKey.key, changed);
    expect(result).toMatchObject({ format: "muninn", created: 0, updated: 1, failed: 0 });
    const got = await callOk<{ memories: { content: string; version: number; versions: { content: string }[] }[] }>(
      client,
      "get",
      { ids: [id] },
    );
    expect(got.memories[0]).toMatchObject({ content: "Deploys go out on Thursdays.", version: 2 });
    expect(got.memories[0]?.versions.map((version) => version.content)).toEqual(["Deploys go out on Tuesdays."]);
  });
});
