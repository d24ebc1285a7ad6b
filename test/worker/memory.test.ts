import type { Client } from "@modelcontextprotocol/client";
import { beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../shared/db/client";
import { updateMemory } from "../../shared/memory/memories";
import { LIMITS } from "../../shared/memory/model";
import { callError, callOk } from "./mcp-support";
import { memoryTenant } from "./memory-tools-support";

let client: Client;
let remember: Awaited<ReturnType<typeof memoryTenant>>["remember"];
let recall: Awaited<ReturnType<typeof memoryTenant>>["recall"];
let tenantDb: Awaited<ReturnType<typeof memoryTenant>>["tenantDb"];

beforeAll(async () => {
  ({ client, remember, recall, tenantDb } = await memoryTenant());
});

describe("remember", () => {
  it("returns the existing id for an exact duplicate in the same project, and lists similar memories", async () => {
    const first = await remember({ content: "The billing job runs at 02:00 UTC.", project: "dedupe" });
    const again = await remember({ content: "  the billing JOB runs at 02:00 UTC. ", project: "dedupe" });
    expect(again.results[0]).toMatchObject({ id: first.results[0]!.id, deduplicated: true });
    const elsewhere = await remember({ content: "The billing job runs at 02:00 UTC.", project: "other" });
    expect(elsewhere.results[0]!.deduplicated).toBe(false);
    const similar = await remember({ content: "The billing job retries at 03:00 UTC.", project: "dedupe" });
    expect(similar.results[0]!.similar.map((memory) => memory.id)).toContain(first.results[0]!.id);
  });

  it("finds a close memory behind newer ones that share a word with it, closest first", async () => {
    const project = "similar-order";
    const original = await remember({
      project,
      content:
        "Checkout latency regression traced to synchronous inventory reservation inside the payment transaction; " +
        "moved reservation into an outbox worker with idempotent retries and paging alerts.",
    });
    // Holds every searched word of the new text too, and is newer, but is less close than the original.
    const looser = await remember({
      project,
      content:
        "Checkout latency regression: synchronous inventory reservation inside the payment transaction, " +
        "idempotent outbox worker plus paging.",
    });
    // Newer still, each sharing one specific word: more of them than the lookup measures exactly.
    const noise = [
      "The inventory service exports a nightly CSV for finance.",
      "Checkout page copy was reviewed by legal.",
      "Every payment transaction carries a trace id.",
      "Synchronous calls to the tax API are cached for an hour.",
      "The regression suite runs on every merge to main.",
      "Reservation emails go out from the notifications queue.",
      "Idempotent handlers dedupe webhook deliveries by event id.",
      "Latency dashboards live in Grafana under the edge folder.",
      "Inventory counts reconcile with the warehouse at midnight.",
      "Checkout supports Apple Pay since March.",
    ];
    await remember({ memories: noise.map((content) => ({ content, project })) });
    const saved = await remember({
      project,
      content:
        "Checkout latency regression traced to synchronous inventory reservation inside the payment transaction; " +
        "moved reservation to an outbox worker with idempotent retries.",
    });
    expect(saved.results[0]!.similar.map((memory) => memory.id)).toEqual([
      original.results[0]!.id,
      looser.results[0]!.id,
    ]);
  });

  it("makes retries safe with an idempotency key", async () => {
    const args = { content: `Retry-safe ${crypto.randomUUID()}`, idempotency_key: crypto.randomUUID() };
    const first = await remember(args);
    const retry = await remember({ ...args, content: "A retry may even differ in body" });
    expect(retry.results[0]).toMatchObject({ id: first.results[0]!.id, deduplicated: true });
  });

  it("supersedes instead of deleting, and recall hides superseded memories unless asked", async () => {
    const old = await remember({ content: "Use Postgres for the queue.", kind: "decision", project: "sup" });
    const replacement = await remember({
      content: "Use Durable Objects for the queue.",
      kind: "decision",
      project: "sup",
      supersedes: old.results[0]!.id,
    });
    expect(replacement.results[0]!.superseded_id).toBe(old.results[0]!.id);
    const visible = await recall({ query: "queue", project: "sup" });
    expect(visible.results.map((hit) => hit.id)).toEqual([replacement.results[0]!.id]);
    const all = await recall({ query: "queue", project: "sup", include_superseded: true });
    expect(all.results.find((hit) => hit.id === old.results[0]!.id)?.status).toBe("superseded");
  });

  it("saves a batch whole or not at all", async () => {
    const batch = await remember({
      memories: [
        { content: "Batch one", project: "batch" },
        { content: "Batch two", project: "batch" },
      ],
    });
    expect(batch.saved).toBe(2);
    const error = await callError(client, "remember", {
      memories: [
        { content: "Batch three", project: "batch" },
        { content: "Batch four", project: "batch", supersedes: "m_doesnotexist" },
      ],
    });
    expect(error).toContain("supersedes");
    const listed = await callOk<{ memories: unknown[] }>(client, "list", { project: "batch" });
    expect(listed.memories).toHaveLength(2);
  });

  it("refuses top-level memory fields alongside a batch instead of silently dropping them", async () => {
    const batch = [{ content: "Batch item with its own fields", project: "batch-fields" }];
    for (const [field, value] of [
      ["project", "batch-fields"],
      ["tags", ["shared"]],
      ["idempotency_key", "one-key-for-many"],
    ] as const) {
      const error = await callError(client, "remember", { memories: batch, [field]: value });
      expect(error).toContain(`${field}: cannot be combined with memories; put it on each item`);
    }
    expect(await callOk(client, "list", { project: "batch-fields" })).toMatchObject({ memories: [] });
  });

  it("names the field and the limit when arguments are invalid", async () => {
    const tooBig = await callError(client, "remember", { content: "x".repeat(32 * 1024 + 1) });
    expect(tooBig).toMatch(/content/);
    expect(tooBig).toMatch(/32768 bytes/);
    const badImportance = await callError(client, "remember", { content: "x", importance: 9 });
    expect(badImportance).toMatch(/importance/);
    expect(badImportance).toMatch(/1 to 5/);
    const tooMany = await callError(client, "get", { ids: Array.from({ length: 21 }, (_, i) => `m_${i}`) });
    expect(tooMany).toMatch(/ids/);
    expect(tooMany).toMatch(/20/);
  });

  it("stores any characters, including code and emoji, exactly", async () => {
    const content = "```ts\nconst q = `SELECT * FROM t WHERE a = '\"x\"'`; // 🚀 naïve — ✓\n```\n\t<end>";
    const saved = await remember({ content, project: "chars" });
    const got = await callOk<{ memories: { content: string }[] }>(client, "get", { ids: [saved.results[0]!.id] });
    expect(got.memories[0]!.content).toBe(content);
    expect(await callError(client, "remember", { content: "cut\0off" })).toMatch(/content.*NUL/);
  });

  it("refuses NUL in every string field, naming it, and saves nothing", async () => {
    const project = "nul-fields";
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ title: "cut\0off" }, /title.*NUL/],
      [{ tags: ["ok", "cut\0off"] }, /tags.*1.*NUL/],
      [{ files: ["src/cut\0off.ts"] }, /files.*0.*NUL/],
      [{ idempotency_key: "key\0" }, /idempotency_key.*NUL/],
    ];
    for (const [fields, message] of cases) {
      expect(await callError(client, "remember", { content: "a clean body", project, ...fields })).toMatch(message);
    }
    const batch = [{ content: "fine" }, { content: "fine too", title: "cut\0off" }];
    expect(await callError(client, "remember", { memories: batch })).toMatch(/memories.*1.*title.*NUL/);
    const listed = await callOk<{ memories: unknown[] }>(client, "list", { project });
    expect(listed.memories).toEqual([]);
  });
});

describe("recall", () => {
  beforeAll(async () => {
    await remember({
      memories: [
        {
          title: "Login redirect loop",
          content: "Cookies need SameSite=None behind the proxy.",
          kind: "learning",
          tags: ["auth"],
          project: "search",
          files: ["src/auth/session.ts"],
        },
        {
          title: "Cache policy",
          content: "Responses mention login only in passing.",
          kind: "decision",
          tags: ["cache"],
          project: "search",
        },
        { content: "Login page copy was reviewed by legal.", kind: "note", importance: 1, project: "search" },
      ],
    });
  });

  it("ranks a title match above a passing mention, and explains the breakdown", async () => {
    const found = await recall({ query: "login", project: "search", explain: true });
    expect(found.results.length).toBe(3);
    expect(found.results[0]!.snippet).toContain("SameSite");
    expect(found.results[0]!.explain?.signals.text).toBe(1);
    expect(Object.keys(found.results[0]!.explain!.signals).sort()).toEqual([
      "context",
      "file",
      "importance",
      "phrase",
      "recency",
      "text",
      "time",
      "use",
    ]);
  });

  it("finds memories by file path, directory and tag", async () => {
    const byFile = await recall({ files: ["src/auth/session.ts"], project: "search" });
    expect(byFile.results[0]!.snippet).toContain("SameSite");
    const byDir = await recall({ files: ["src/auth"], project: "search" });
    expect(byDir.results).toHaveLength(1);
    const byTag = await recall({ tags: ["cache"], project: "search" });
    expect(byTag.results).toHaveLength(1);
    const allTags = await recall({ tags: ["cache", "auth"], tag_mode: "all", project: "search" });
    expect(allTags.results).toHaveLength(0);
  });

  it("takes the most file paths the tool allows, however deep, and still ranks a file match first", async () => {
    // Distinct paths of 12 segments each: every one has 11 ancestors to match a directory against.
    const deep = Array.from({ length: LIMITS.files }, (_, i) => `repo/p${i}/a/b/c/d/e/f/g/h/i/file${i}.ts`);
    const saved = await remember({
      memories: [
        { content: "Widget cache keys include the locale.", files: [deep[37]], project: "deep" },
        { content: "Widget rendering lives in the directory.", files: ["repo/p12/a/b/c"], project: "deep" },
        { content: "Widget styles are shared.", importance: 5, files: ["elsewhere/styles.css"], project: "deep" },
      ],
    });
    const [exact, directory, unrelated] = saved.results.map((result) => result.id);
    const found = await recall({ query: "widget", files: deep, project: "deep" });
    expect(found.results.map((hit) => hit.id)).toEqual([exact, directory, unrelated]);
  });

  it("never errors on hostile query text", async () => {
    const nasty = [
      '"unbalanced',
      "login*",
      "NEAR(login cache)",
      "-login",
      "(((",
      "login AND OR NOT",
      "'; DROP TABLE memories; --",
      "🚀🔥",
      "title:login",
      "^login",
      "",
      "a".repeat(2000),
    ];
    for (const query of nasty) {
      const result = await recall({ query, project: "search" });
      expect(Array.isArray(result.results)).toBe(true);
    }
    expect((await recall({ query: "🚀🔥", project: "search" })).note).toMatch(/searchable/);
    expect((await recall({ query: "NEAR(login cache)", project: "search" })).results.length).toBeGreaterThan(0);
  });
});

describe("update, forget and restore", () => {
  it("keeps the previous version on update and appends on request", async () => {
    const saved = await remember({ content: "v1 body", title: "Versioned", project: "versions" });
    const id = saved.results[0]!.id;
    await callOk(client, "update", { id, content: "v2 body" });
    await callOk(client, "update", { id, content: "appendix", mode: "append" });
    const got = await callOk<{ memories: { content: string; version: number; versions: { content: string }[] }[] }>(
      client,
      "get",
      { ids: [id] },
    );
    expect(got.memories[0]).toMatchObject({ content: "v2 body\n\nappendix", version: 3 });
    expect(got.memories[0]!.versions.map((version) => version.content)).toEqual(["v1 body", "v2 body"]);
    expect((await recall({ query: "appendix", project: "versions" })).results[0]?.id).toBe(id);
    expect((await recall({ query: "v1", project: "versions" })).results).toHaveLength(0);
  });

  it("a losing concurrent update changes nothing, so tag and file filters agree with the winner", async () => {
    const id = (await remember({ content: "Raced memory", tags: ["start"], files: ["src/start.ts"], project: "race" }))
      .results[0]!.id;
    const db = await tenantDb();
    // The loser reads version 1; the winner reads version 1 too and commits before the loser writes.
    const racing = {
      execute: db.execute.bind(db),
      batch: async (...args: Parameters<Database["batch"]>) => {
        await updateMemory(db, { id, tags: ["winner"], files: ["src/winner.ts"] });
        return db.batch(...args);
      },
    } as unknown as Database;
    await expect(updateMemory(racing, { id, tags: ["loser"], files: ["src/loser.ts"] })).rejects.toMatchObject({
      kind: "conflict",
    });

    const [memory, tagRows, fileRows, versions] = await db.batch(
      [
        { sql: "SELECT tags, files, version FROM memories WHERE id = ?", args: [id] },
        { sql: "SELECT t.tag FROM memory_tags t JOIN memories m ON m.seq = t.memory_seq WHERE m.id = ?", args: [id] },
        { sql: "SELECT f.path FROM memory_files f JOIN memories m ON m.seq = f.memory_seq WHERE m.id = ?", args: [id] },
        { sql: "SELECT COUNT(*) AS n FROM memory_versions WHERE memory_id = ?", args: [id] },
      ],
      "read",
    );
    expect(memory!.rows[0]).toMatchObject({ tags: '["winner"]', files: '["src/winner.ts"]', version: 2 });
    expect(tagRows!.rows.map((row) => row.tag)).toEqual(["winner"]);
    expect(fileRows!.rows.map((row) => row.path)).toEqual(["src/winner.ts"]);
    expect(versions!.rows[0]?.n).toBe(1);
    expect((await recall({ tags: ["loser"], project: "race" })).results).toEqual([]);
    expect((await recall({ tags: ["winner"], project: "race" })).results.map((hit) => hit.id)).toEqual([id]);
  });

  it("soft-forgets (restorable) and hard-forgets (purged with index and history)", async () => {
    const soft = (await remember({ content: "Soft forgettable fact", project: "forget" })).results[0]!.id;
    const hard = (await remember({ content: "Hard forgettable fact", project: "forget" })).results[0]!.id;
    await callOk(client, "update", { id: hard, content: "Hard forgettable fact, revised" });

    expect(await callOk(client, "forget", { ids: [soft] })).toMatchObject({ forgotten: [soft] });
    expect((await recall({ query: "forgettable", project: "forget" })).results.map((hit) => hit.id)).toEqual([hard]);
    expect(await callOk(client, "restore", { ids: [soft] })).toMatchObject({ restored: [soft] });

    expect(await callOk(client, "forget", { ids: [hard, "m_unknown"], hard: true })).toMatchObject({
      forgotten: [hard],
      not_found: ["m_unknown"],
    });
    expect(await callOk(client, "get", { ids: [hard] })).toMatchObject({ memories: [], not_found: [hard] });
    expect(await callOk(client, "restore", { ids: [hard] })).toMatchObject({ not_restorable: [hard] });

    const db = await tenantDb();
    const leftovers = await db.batch(
      [
        { sql: "SELECT COUNT(*) AS n FROM memory_versions WHERE memory_id = ?", args: [hard] },
        { sql: "SELECT COUNT(*) AS n FROM memories_fts WHERE memories_fts MATCH 'hard'", args: [] },
      ],
      "read",
    );
    expect(leftovers.map((result) => result.rows[0]?.n)).toEqual([0, 0]);
  });

  it("pages through list with a cursor", async () => {
    await remember({ memories: Array.from({ length: 5 }, (_, i) => ({ content: `Paged ${i}`, project: "paging" })) });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { memories: { id: string }[]; next_cursor: string | null } = await callOk(client, "list", {
        project: "paging",
        limit: 2,
        ...(cursor && { cursor }),
      });
      seen.push(...page.memories.map((memory) => memory.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(5);
  });
});
