/**
 * The lean Hrana client `openDatabase` uses (shared/db/hrana-http.ts) against
 * the library it replaced, on the local libSQL server: the same statements
 * give the same rows, columns, counts and errors, and a batch is still all or
 * nothing.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, LibsqlBatchError, LibsqlError, type ResultSet } from "@libsql/client/web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../shared/db/client";
import { openHranaHttp, pipelineUrl } from "../../shared/db/hrana-http";
import { type LibsqlServer, startLibsqlServer } from "../../tools/libsql-server/server";

const TOKEN = "lean-client-test-token";
let dataDir: string;
let server: LibsqlServer;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "hrana-http-test-"));
  server = await startLibsqlServer({ port: 0, dataDir, authToken: TOKEN });
});

afterAll(async () => {
  await server.close();
  await rm(dataDir, { recursive: true, force: true });
});

const url = (db: string) => `${server.url}/${db}/`;
const lean = (db: string, token = TOKEN) => openHranaHttp(pipelineUrl(url(db)) as string, token, fetch);
const library = (db: string) => createClient({ url: url(db), authToken: TOKEN, intMode: "number" });

/** What a caller can see of a result: columns, types, counts, rows by name and by index. */
function seen(result: ResultSet) {
  return {
    columns: result.columns,
    columnTypes: result.columnTypes,
    rowsAffected: result.rowsAffected,
    lastInsertRowid: result.lastInsertRowid,
    named: result.rows.map((row) => ({ ...row })),
    positional: result.rows.map((row) => Array.from({ length: row.length }, (_, i) => row[i])),
    json: JSON.parse(JSON.stringify(result)),
  };
}

describe("lean Hrana client", () => {
  it("is what openDatabase gives for http(s) and libsql URLs; bigint copies and URL parameters keep the library", () => {
    expect(pipelineUrl("http://127.0.0.1:8080/tenant-a/")).toBe("http://127.0.0.1:8080/tenant-a/v3/pipeline");
    expect(pipelineUrl("libsql://db-org.turso.io")).toBe("https://db-org.turso.io/v3/pipeline");
    expect(pipelineUrl("https://db-org.turso.io")).toBe("https://db-org.turso.io/v3/pipeline");
    expect(pipelineUrl("libsql://db-org.turso.io?tls=0")).toBeNull();
    expect(pipelineUrl("wss://db-org.turso.io")).toBeNull();
    expect(pipelineUrl("file:local.db")).toBeNull();
  });

  it("answers every statement as the library does: values, duplicate and unnamed columns, counts, rowids", async () => {
    const setup = library("same-answers");
    await setup.batch(
      [
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL, data BLOB, n INTEGER)",
        "INSERT INTO t (name, score, data, n) VALUES ('a', 1.5, x'00ff10', 9007199254740991), ('b', NULL, NULL, -3)",
      ],
      "write",
    );
    const statements = [
      "SELECT * FROM t ORDER BY id",
      "SELECT t.id, t.name, u.name, 1 + 1, NULL AS empty FROM t JOIN t u ON u.id = t.id ORDER BY t.id",
      { sql: "SELECT name FROM t WHERE score > ? OR n = ?", args: [1, -3] },
      { sql: "SELECT :a AS a, $b AS b, @c AS c", args: { a: "x", $b: 2.5, "@c": null } },
      { sql: "SELECT ? AS yes, ? AS bytes, ? AS big", args: [true, new Uint8Array([1, 2, 3]), 12n] },
      { sql: "SELECT id FROM t WHERE id > ?", args: [100] },
    ];
    const a = await lean("same-answers").batch(statements, "read");
    const b = await library("same-answers").batch(statements, "read");
    expect(a.map(seen)).toEqual(b.map(seen));

    const insert = { sql: "INSERT INTO t (name) VALUES (?)", args: ["c"] };
    const [leanInsert] = await lean("same-answers").batch([insert], "write");
    const [libraryInsert] = await library("same-answers").batch([insert], "write");
    expect(leanInsert?.rowsAffected).toBe(1);
    expect(leanInsert?.lastInsertRowid).toBe(3n);
    expect(libraryInsert?.lastInsertRowid).toBe(4n);
    expect(typeof (await lean("same-answers").execute("SELECT count(*) AS n FROM t", "read")).rows[0]?.n).toBe(
      "number",
    );
  });

  it("refuses an integer beyond 2^53 as the library does, rather than rounding it", async () => {
    const sql = "SELECT 9007199254740993 AS n";
    await expect(lean("big").execute(sql, "read")).rejects.toThrow(RangeError);
    await expect(library("big").execute(sql)).rejects.toThrow(RangeError);
  });

  it("fails a batch whole, with the library's error and the failing statement's index", async () => {
    const db = lean("all-or-nothing");
    await db.batch(["CREATE TABLE u (email TEXT UNIQUE)", "INSERT INTO u VALUES ('a@x')"], "write");
    const failed = await db
      .batch(["INSERT INTO u VALUES ('b@x')", "INSERT INTO u VALUES ('a@x')", "INSERT INTO u VALUES ('c@x')"], "write")
      .catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(LibsqlBatchError);
    expect((failed as LibsqlBatchError).statementIndex).toBe(1);
    expect((failed as LibsqlError).code).toMatch(/^SQLITE_CONSTRAINT/);
    expect((failed as LibsqlError).message).toMatch(/UNIQUE constraint failed: u\.email/);
    const fromLibrary = await library("all-or-nothing")
      .batch(["INSERT INTO u VALUES ('b@x')", "INSERT INTO u VALUES ('a@x')"], "write")
      .catch((error: unknown) => error);
    expect((failed as LibsqlError).code).toBe((fromLibrary as LibsqlError).code);
    expect((await db.execute("SELECT email FROM u ORDER BY email", "read")).rows.map((row) => row.email)).toEqual([
      "a@x",
    ]);
  });

  it("keeps a read batch read-only and reports a statement SQLite rejects as SQLITE_", async () => {
    const db = lean("read-only");
    await db.execute("CREATE TABLE r (x)", "write");
    const write = await db.batch(["INSERT INTO r VALUES (1)"], "read").catch((error: unknown) => error);
    expect(write).toBeInstanceOf(LibsqlError);
    expect((write as LibsqlError).code).toMatch(/^SQLITE_/);
    const bad = await db.execute("SELEC nonsense", "read").catch((error: unknown) => error);
    expect((bad as LibsqlError).code).toMatch(/^SQLITE_/);
    expect((await db.execute("SELECT count(*) AS n FROM r", "read")).rows[0]?.n).toBe(0);
  });

  it("reports a refused token and an unreachable server as connection failures, not SQLite errors", async () => {
    const refused = await lean("auth", "wrong-token")
      .execute("SELECT 1", "read")
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(LibsqlError);
    expect((refused as LibsqlError).code).not.toMatch(/^SQLITE_/);
    const gone = openDatabase({ url: "http://127.0.0.1:9/nowhere/", authToken: "" }, 2000);
    await expect(gone.execute("SELECT 1", "read")).rejects.toThrow();
  });
});
