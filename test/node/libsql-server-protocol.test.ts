/**
 * The local libSQL server at the HTTP level: raw Hrana pipelines (v2 and v3),
 * batons and stream expiry, and malformed input. Auth and the Platform API
 * are in libsql-server-platform.test.ts.
 */

import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LibsqlServer, startLibsqlServer } from "../../tools/libsql-server/server";

/** JSON off the wire; its shape is what the assertions check. */
// biome-ignore lint/suspicious/noExplicitAny: see above
type Json = any;

interface PipelineBody {
  baton: string | null;
  base_url: string | null;
  results: { type: string; response?: Json; error?: { message: string; code: string } }[];
}

let dataDir: string;
/** No auth: protocol tests. */
let open: LibsqlServer;

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    contentType: response.headers.get("content-type"),
    json: text ? JSON.parse(text) : undefined,
  };
}

function pipeline(db: string, body: unknown, version: 2 | 3 = 3) {
  return post(`${open.url}/${db}/v${version}/pipeline`, body) as Promise<{
    status: number;
    contentType: string | null;
    json: PipelineBody;
  }>;
}

const exec = (sql: string, args: unknown[] = []) => ({ type: "execute", stmt: { sql, args } });

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "libsql-server-proto-"));
  open = await startLibsqlServer({ port: 0, dataDir: join(dataDir, "open"), streamTimeoutMs: 300 });
});

afterAll(async () => {
  await open.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe("Hrana pipelines", () => {
  it("executes a v3 pipeline with stored SQL, batch conditions, describe, sequence and get_autocommit", async () => {
    const { status, json } = await pipeline("raw", {
      baton: null,
      requests: [
        { type: "sequence", sql: "CREATE TABLE t(id INTEGER PRIMARY KEY, v); INSERT INTO t VALUES (1, 'x');" },
        { type: "store_sql", sql_id: 1, sql: "SELECT v FROM t WHERE id = ?" },
        { type: "execute", stmt: { sql_id: 1, args: [{ type: "integer", value: "1" }] } },
        { type: "describe", sql: "SELECT id, v FROM t WHERE v = :v" },
        {
          type: "batch",
          batch: {
            steps: [
              { stmt: { sql: "BEGIN" } },
              { condition: { type: "ok", step: 0 }, stmt: { sql: "INSERT INTO t VALUES (1, 'dup')" } },
              { condition: { type: "error", step: 1 }, stmt: { sql: "ROLLBACK" } },
              { condition: { type: "is_autocommit" }, stmt: { sql: "SELECT 'autocommit again'" } },
              {
                condition: {
                  type: "and",
                  conds: [
                    { type: "ok", step: 0 },
                    { type: "not", cond: { type: "ok", step: 2 } },
                  ],
                },
                stmt: { sql: "SELECT 'skipped'" },
              },
              {
                condition: {
                  type: "or",
                  conds: [
                    { type: "error", step: 0 },
                    { type: "ok", step: 3 },
                  ],
                },
                stmt: { sql: "SELECT 'ran'" },
              },
            ],
          },
        },
        { type: "get_autocommit" },
        { type: "close_sql", sql_id: 1 },
        { type: "close" },
      ],
    });
    expect(status).toBe(200);
    expect(json.baton).toBeNull();
    expect(json.base_url).toBeNull();
    expect(json.results.map((r) => r.type)).toEqual(["ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok"]);
    const executed = json.results[2]?.response;
    expect(executed.result.rows).toEqual([[{ type: "text", value: "x" }]]);
    expect(executed.result.cols).toEqual([{ name: "v", decltype: null }]);
    expect(typeof executed.result.last_insert_rowid).toBe("string");
    expect(json.results[3]?.response.result).toMatchObject({
      params: [{ name: ":v" }],
      cols: [
        { name: "id", decltype: "INTEGER" },
        { name: "v", decltype: null },
      ],
      is_explain: false,
      is_readonly: true,
    });
    const batch = json.results[4]?.response.result;
    expect(batch.step_errors.map((e: unknown) => (e as { code?: string } | null)?.code ?? null)).toEqual([
      null,
      "SQLITE_CONSTRAINT_PRIMARYKEY",
      null,
      null,
      null,
      null,
    ]);
    expect(batch.step_results.map((r: unknown) => r !== null)).toEqual([true, false, true, true, false, true]);
    expect(json.results[5]?.response).toEqual({ type: "get_autocommit", is_autocommit: true });
  });

  it("keeps a stream (and its transaction) across requests with the returned baton", async () => {
    const first = await pipeline("stream", {
      baton: null,
      requests: [exec("CREATE TABLE IF NOT EXISTS s(x)"), exec("BEGIN"), exec("INSERT INTO s VALUES (1)")],
    });
    expect(first.json.baton).toEqual(expect.any(String));
    const second = await pipeline("stream", {
      baton: first.json.baton,
      requests: [{ type: "get_autocommit" }, exec("COMMIT"), { type: "get_autocommit" }],
    });
    expect(second.json.results.map((r) => r.response?.is_autocommit)).toEqual([false, undefined, true]);
    // A baton is good for one request only.
    const reused = await pipeline("stream", { baton: first.json.baton, requests: [] });
    expect(reused.status).toBe(400);
    expect(reused.json).toMatchObject({ code: "BATON_REUSED" });
    await pipeline("stream", { baton: second.json.baton, requests: [{ type: "close" }] });
  });

  it("a failing request yields an error result and the pipeline continues", async () => {
    const { status, json } = await pipeline("continue", {
      baton: null,
      requests: [exec("SELECT * FROM nope"), exec("SELECT 1"), { type: "close" }],
    });
    expect(status).toBe(200);
    expect(json.results[0]).toMatchObject({
      type: "error",
      error: { code: "SQLITE_ERROR", message: expect.stringContaining("no such table") },
    });
    expect(json.results[1]?.type).toBe("ok");
  });

  it("honours want_rows: false", async () => {
    const { json } = await pipeline("want-rows", {
      baton: null,
      requests: [{ type: "execute", stmt: { sql: "SELECT 1 UNION SELECT 2", want_rows: false } }, { type: "close" }],
    });
    expect(json.results[0]?.response.result.rows).toEqual([]);
    expect(json.results[0]?.response.result.cols).toHaveLength(1);
  });

  it("supports v2 but refuses v3-only requests there", async () => {
    const ok = await pipeline("v2db", { baton: null, requests: [exec("SELECT 1"), { type: "close" }] }, 2);
    expect(ok.status).toBe(200);
    const refused = await pipeline("v2db", { baton: null, requests: [{ type: "get_autocommit" }] }, 2);
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({ code: "NOT_SUPPORTED" });
  });

  it("answers version probes and health", async () => {
    for (const path of ["/health", "/probe/health", "/probe/v2", "/probe/v3"]) {
      expect((await fetch(`${open.url}${path}`)).status).toBe(200);
    }
    // No protobuf: the client falls back to JSON.
    expect((await fetch(`${open.url}/probe/v3-protobuf`)).status).toBe(404);
    // Probes do not create databases.
    expect(existsSync(join(dataDir, "open", "probe.db"))).toBe(false);
  });
});

describe("batons and stream expiry", () => {
  it("rejects an unknown or malformed baton with HTTP 400", async () => {
    for (const baton of ["nonsense", "AAAAAAAAAAAAAAAAAAAAAA.1"]) {
      const { status, contentType, json } = await pipeline("batons", { baton, requests: [exec("SELECT 1")] });
      expect(status).toBe(400);
      expect(contentType).toBe("application/json");
      expect(json).toMatchObject({ code: "BATON_INVALID", message: "Received an invalid baton" });
    }
  });

  it("a baton from another database is invalid", async () => {
    const { json } = await pipeline("batons-a", { baton: null, requests: [] });
    const other = await pipeline("batons-b", { baton: json.baton, requests: [] });
    expect(other.json).toMatchObject({ code: "BATON_INVALID" });
  });

  it("expires idle streams, rolls back their transaction, and says so like sqld", async () => {
    const { json } = await pipeline("expiry", {
      baton: null,
      requests: [exec("CREATE TABLE e(x)"), exec("BEGIN"), exec("INSERT INTO e VALUES (1)")],
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const late = await pipeline("expiry", { baton: json.baton, requests: [exec("COMMIT")] });
    expect(late.status).toBe(500);
    expect(late.json).toMatchObject({ code: "STREAM_EXPIRED" });
    // The write lock is gone and the insert was rolled back.
    const check = await pipeline("expiry", {
      baton: null,
      requests: [exec("INSERT INTO e VALUES (2)"), exec("SELECT x FROM e"), { type: "close" }],
    });
    expect(check.json.results[1]?.response.result.rows).toEqual([[{ type: "integer", value: "2" }]]);
  });

  it("the client sees expired streams as LibsqlError", async () => {
    const db = createClient({ url: `${open.url}/expiry-client/` });
    const tx = await db.transaction("write");
    await tx.execute("SELECT 1");
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await expect(tx.execute("SELECT 1")).rejects.toMatchObject({ code: "STREAM_EXPIRED" });
    db.close();
  });
});

describe("malformed requests", () => {
  it.each([
    ["not JSON", "{not json", "JSON_DESERIALIZE"],
    ["not an object", "[1, 2]", "PROTOCOL_ERROR"],
    ["requests missing", { baton: null }, "PROTOCOL_ERROR"],
    ["unknown request type", { baton: null, requests: [{ type: "teleport" }] }, "PROTOCOL_ERROR"],
    [
      "bad value type",
      {
        baton: null,
        requests: [{ type: "execute", stmt: { sql: "SELECT ?", args: [{ type: "bool", value: true }] } }],
      },
      "PROTOCOL_ERROR",
    ],
    [
      "integer out of range",
      {
        baton: null,
        requests: [
          { type: "execute", stmt: { sql: "SELECT ?", args: [{ type: "integer", value: "9223372036854775808" }] } },
        ],
      },
      "PROTOCOL_ERROR",
    ],
    [
      "sql and sql_id",
      { baton: null, requests: [{ type: "execute", stmt: { sql: "SELECT 1", sql_id: 1 } }] },
      "PROTOCOL_ERROR",
    ],
    ["unknown sql_id", { baton: null, requests: [{ type: "execute", stmt: { sql_id: 7 } }] }, "SQL_NOT_FOUND"],
    [
      "condition on a later step",
      {
        baton: null,
        requests: [
          { type: "batch", batch: { steps: [{ condition: { type: "ok", step: 0 }, stmt: { sql: "SELECT 1" } }] } },
        ],
      },
      "BATCH_COND_BAD_STEP",
    ],
  ])("%s → 400 with a JSON error, server still alive", async (_name, body, code) => {
    const { status, contentType, json } = await pipeline("malformed", body);
    expect(status).toBe(400);
    expect(contentType).toBe("application/json");
    expect(json).toEqual({ message: expect.any(String), code });
    const alive = await pipeline("malformed", { baton: null, requests: [exec("SELECT 1"), { type: "close" }] });
    expect(alive.status).toBe(200);
  });

  it("refuses invalid database names with 400", async () => {
    for (const name of ["Upper", "under_score", "-dash", "a".repeat(64)]) {
      const { status, json } = await pipeline(name, { baton: null, requests: [] });
      expect(status).toBe(400);
      expect(json).toMatchObject({ code: "INVALID_DATABASE_NAME" });
    }
    const db = createClient({ url: `${open.url}/Bad_Name/` });
    await expect(db.execute("SELECT 1")).rejects.toMatchObject({ code: "INVALID_DATABASE_NAME" });
    db.close();
  });

  it("explains a client URL without the database or its trailing slash", async () => {
    const db = createClient({ url: `${open.url}/forgot-slash` });
    await expect(db.execute("SELECT 1")).rejects.toMatchObject({ code: "DATABASE_NOT_IN_URL" });
    db.close();
  });

  it("caps the request body at 10 MiB", async () => {
    const big = JSON.stringify({ baton: null, requests: [exec(`SELECT '${"x".repeat(11 * 1024 * 1024)}'`)] });
    const { status, json } = await pipeline("big", big);
    expect(status).toBe(413);
    expect(json).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
    expect((await pipeline("big", { baton: null, requests: [] })).status).toBe(200);
  });
});
