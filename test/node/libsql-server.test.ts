/**
 * The local libSQL server as the real @libsql/client sees it: values, batches,
 * transactions, errors, FTS5, vectors, persistence.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient, LibsqlError } from "@libsql/client";
import { createClient as createWebClient } from "@libsql/client/web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LibsqlServer, startLibsqlServer } from "../../tools/libsql-server/server";

let dataDir: string;
let server: LibsqlServer;
const clients: Client[] = [];

function client(db: string, options: { intMode?: "number" | "bigint"; web?: boolean } = {}): Client {
  const config = { url: `${server.url}/${db}/`, intMode: options.intMode ?? "bigint" } as const;
  const c = options.web ? createWebClient(config) : createClient(config);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "libsql-server-test-"));
  server = await startLibsqlServer({ port: 0, dataDir });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await server.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe("values", () => {
  it.each([
    ["node", false],
    ["web", true],
  ])("round-trip every type exactly (%s client)", async (_name, web) => {
    const db = client(`values-${web ? "web" : "node"}`, { web });
    await db.execute("CREATE TABLE v(id INTEGER PRIMARY KEY, x)");
    const samples: unknown[] = [
      null,
      9007199254740993n,
      -9223372036854775808n,
      9223372036854775807n,
      -42n,
      0n,
      1.5,
      -2.25e-300,
      1e300,
      3.0,
      "",
      "plain",
      "émoji 😀 and ünïcode ✓",
      new Uint8Array([0, 1, 2, 255, 0]),
      new Uint8Array([]),
    ];
    for (const value of samples) {
      await db.execute({ sql: "INSERT INTO v(x) VALUES (?)", args: [value as never] });
    }
    const rs = await db.execute("SELECT x, typeof(x) AS t FROM v ORDER BY id");
    expect(rs.rows).toHaveLength(samples.length);
    rs.rows.forEach((row, i) => {
      const expected = samples[i];
      if (expected instanceof Uint8Array) {
        expect(row.t).toBe("blob");
        expect(new Uint8Array(row.x as ArrayBuffer)).toEqual(expected);
      } else {
        expect(row.x).toEqual(expected);
      }
      // A float that happens to be whole stays a float, and integers stay integers.
      if (typeof expected === "number") expect(row.t).toBe("real");
      if (typeof expected === "bigint") expect(row.t).toBe("integer");
    });
  });

  it("returns column names and declared types", async () => {
    const db = client("values-cols");
    await db.execute("CREATE TABLE c(a INTEGER, b TEXT, c F32_BLOB(2))");
    const rs = await db.execute("SELECT a, b, c, 1 + 1 AS expr FROM c");
    expect(rs.columns).toEqual(["a", "b", "c", "expr"]);
    expect(rs.columnTypes).toEqual(["INTEGER", "TEXT", "F32_BLOB(2)", ""]);
  });

  it("binds positional, numbered and named arguments (:a, @a, $a)", async () => {
    const db = client("values-args");
    expect((await db.execute({ sql: "SELECT ?, ?", args: [1n, "two"] })).rows[0]).toMatchObject({ 0: 1n, 1: "two" });
    expect((await db.execute({ sql: "SELECT ?2, ?1", args: ["a", "b"] })).rows[0]).toMatchObject({ 0: "b", 1: "a" });
    const named = await db.execute({ sql: "SELECT :a, @b, $c, :a", args: { a: 1n, b: "bee", c: null } });
    expect(Array.from(named.rows[0] as ArrayLike<unknown>)).toEqual([1n, "bee", null, 1n]);
    const prefixed = await db.execute({ sql: "SELECT :a, @b", args: { ":a": "x", "@b": "y" } });
    expect(Array.from(prefixed.rows[0] as ArrayLike<unknown>)).toEqual(["x", "y"]);
    // Quoted text and comments that look like parameters are not parameters.
    const tricky = await db.execute({ sql: "SELECT ':x ?', /* :y */ :z -- :w\n", args: { z: "zed" } });
    expect(Array.from(tricky.rows[0] as ArrayLike<unknown>)).toEqual([":x ?", "zed"]);
  });

  it("reports affected rows and last insert rowid, also for RETURNING", async () => {
    const db = client("values-affected");
    await db.execute("CREATE TABLE a(id INTEGER PRIMARY KEY, x)");
    const inserted = await db.execute("INSERT INTO a(id, x) VALUES (9007199254740993, 1), (9007199254740994, 2)");
    expect(inserted.rowsAffected).toBe(2);
    expect(inserted.lastInsertRowid).toBe(9007199254740994n);
    const returning = await db.execute("UPDATE a SET x = x + 1 RETURNING id");
    expect(returning.rowsAffected).toBe(2);
    expect(returning.rows).toHaveLength(2);
    const select = await db.execute("SELECT * FROM a");
    expect(select.rowsAffected).toBe(0);
  });

  it("returns float overflow as ±Infinity rather than breaking the response", async () => {
    const db = client("values-inf");
    const rs = await db.execute("SELECT 1e308 * 10 AS inf, -1e308 * 10 AS ninf, 'text \\u0000inf' AS t");
    expect(rs.rows[0]).toMatchObject({ inf: Infinity, ninf: -Infinity, t: "text \\u0000inf" });
  });

  it("works with intMode number", async () => {
    const db = client("values-number", { intMode: "number" });
    const rs = await db.execute("SELECT 42 AS n, 2.5 AS f");
    expect(rs.rows[0]).toMatchObject({ n: 42, f: 2.5 });
  });
});

describe("batches and transactions", () => {
  it("a failing step rolls back the whole write batch", async () => {
    const db = client("batch-atomic");
    await db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT UNIQUE)");
    await db.execute("INSERT INTO t VALUES (1, 'one')");
    const error = await db
      .batch(
        [
          { sql: "INSERT INTO t VALUES (2, 'two')", args: [] },
          { sql: "INSERT INTO t VALUES (3, 'one')", args: [] },
        ],
        "write",
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LibsqlError);
    expect((error as LibsqlError).code).toBe("SQLITE_CONSTRAINT_UNIQUE");
    const rs = await db.execute("SELECT id FROM t ORDER BY id");
    expect(rs.rows.map((r) => r.id)).toEqual([1n]);
  });

  it("a successful batch returns every result", async () => {
    const db = client("batch-ok");
    const results = await db.batch(
      ["CREATE TABLE b(x)", "INSERT INTO b VALUES (1), (2)", "SELECT sum(x) AS s FROM b"],
      "write",
    );
    expect(results).toHaveLength(3);
    expect(results[1]?.rowsAffected).toBe(2);
    expect(results[2]?.rows[0]?.s).toBe(3n);
    // Deferred and read batches too.
    expect((await db.batch(["SELECT count(*) AS n FROM b"], "read"))[0]?.rows[0]?.n).toBe(2n);
    expect((await db.batch(["SELECT count(*) AS n FROM b"], "deferred"))[0]?.rows[0]?.n).toBe(2n);
  });

  it("interactive transactions commit, roll back, and stay invisible until commit", async () => {
    const a = client("tx");
    const b = client("tx");
    await a.execute("CREATE TABLE t(v TEXT)");

    const tx = await a.transaction("write");
    await tx.execute({ sql: "INSERT INTO t VALUES (?)", args: ["committed"] });
    expect((await tx.execute("SELECT count(*) AS n FROM t")).rows[0]?.n).toBe(1n);
    // Another client does not see uncommitted data.
    expect((await b.execute("SELECT count(*) AS n FROM t")).rows[0]?.n).toBe(0n);
    await tx.commit();
    expect((await b.execute("SELECT count(*) AS n FROM t")).rows[0]?.n).toBe(1n);

    const rolledBack = await a.transaction("write");
    await rolledBack.batch(["INSERT INTO t VALUES ('gone')", "INSERT INTO t VALUES ('gone too')"]);
    await rolledBack.rollback();
    expect((await b.execute("SELECT v FROM t")).rows.map((r) => r.v)).toEqual(["committed"]);
  });

  it("an error inside a transaction keeps the transaction usable", async () => {
    const db = client("tx-error");
    await db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY)");
    const tx = await db.transaction("write");
    await tx.execute("INSERT INTO t VALUES (1)");
    await expect(tx.execute("INSERT INTO t VALUES (1)")).rejects.toMatchObject({
      code: "SQLITE_CONSTRAINT_PRIMARYKEY",
    });
    await tx.execute("INSERT INTO t VALUES (2)");
    await tx.commit();
    expect((await db.execute("SELECT count(*) AS n FROM t")).rows[0]?.n).toBe(2n);
  });

  it("read transactions refuse writes", async () => {
    const db = client("tx-read");
    await db.execute("CREATE TABLE t(x)");
    const tx = await db.transaction("read");
    expect((await tx.execute("SELECT count(*) AS n FROM t")).rows[0]?.n).toBe(0n);
    await expect(tx.execute("INSERT INTO t VALUES (1)")).rejects.toMatchObject({ code: "SQLITE_READONLY" });
    await tx.rollback();
    // The connection is writable again afterwards.
    await db.execute("INSERT INTO t VALUES (1)");
  });

  it("a writer waits for another stream's write transaction instead of failing", async () => {
    const a = client("tx-wait");
    const b = client("tx-wait");
    await a.execute("CREATE TABLE t(x)");
    const tx = await a.transaction("write");
    await tx.execute("INSERT INTO t VALUES ('a')");
    let done = false;
    const blocked = b.execute("INSERT INTO t VALUES ('b')").then(() => {
      done = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(done).toBe(false);
    await tx.commit();
    await blocked;
    expect((await a.execute("SELECT x FROM t ORDER BY rowid")).rows.map((r) => r.x)).toEqual(["a", "b"]);
  });

  it("two clients writing concurrently both succeed", async () => {
    const a = client("concurrent");
    const b = client("concurrent", { web: true });
    await a.execute("CREATE TABLE t(who TEXT, n INTEGER)");
    const writes = (c: Client, who: string) =>
      Promise.all(
        Array.from({ length: 40 }, (_, n) =>
          n % 2
            ? c.execute({ sql: "INSERT INTO t VALUES (?, ?)", args: [who, n] })
            : c.batch([{ sql: "INSERT INTO t VALUES (?, ?)", args: [who, n] }], "write"),
        ),
      );
    await Promise.all([writes(a, "a"), writes(b, "b")]);
    const rs = await a.execute("SELECT who, count(*) AS n FROM t GROUP BY who ORDER BY who");
    expect(rs.rows.map((r) => [r.who, r.n])).toEqual([
      ["a", 40n],
      ["b", 40n],
    ]);
  });

  it("executeMultiple and migrate run scripts", async () => {
    const db = client("scripts");
    await db.executeMultiple("CREATE TABLE s(x); INSERT INTO s VALUES (1); INSERT INTO s VALUES (2);");
    await db.migrate(["CREATE TABLE m(x)", "INSERT INTO m SELECT x FROM s"]);
    expect((await db.execute("SELECT count(*) AS n FROM m")).rows[0]?.n).toBe(2n);
  });
});

describe("errors", () => {
  it("constraint and syntax errors carry SQLite's extended code", async () => {
    const db = client("errors");
    await db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT UNIQUE)");
    await db.execute("INSERT INTO t VALUES (1, 'a')");
    const unique = await db.execute("INSERT INTO t VALUES (2, 'a')").catch((e: unknown) => e);
    expect(unique).toBeInstanceOf(LibsqlError);
    expect(unique).toMatchObject({ code: "SQLITE_CONSTRAINT_UNIQUE" });
    expect((unique as Error).message).toContain("UNIQUE constraint failed: t.v");
    await expect(db.execute("INSERT INTO t VALUES (1, 'b')")).rejects.toMatchObject({
      code: "SQLITE_CONSTRAINT_PRIMARYKEY",
    });
    await expect(db.execute("SELEC 1")).rejects.toMatchObject({ code: "SQLITE_ERROR" });
    await expect(db.execute("SELECT * FROM missing")).rejects.toMatchObject({ code: "SQLITE_ERROR" });
    await expect(db.execute("")).rejects.toBeInstanceOf(LibsqlError);
    // The client is still fine afterwards.
    expect((await db.execute("SELECT count(*) AS n FROM t")).rows[0]?.n).toBe(1n);
  });
});

describe("libSQL engine features", () => {
  it("FTS5 MATCH with bm25 ranking", async () => {
    const db = client("fts");
    await db.batch(
      [
        "CREATE VIRTUAL TABLE notes USING fts5(title, body)",
        "INSERT INTO notes VALUES ('ravens', 'Huginn and Muninn fly over the world every day')",
        "INSERT INTO notes VALUES ('memory', 'Muninn is memory; Muninn returns with memory of memory')",
        "INSERT INTO notes VALUES ('other', 'nothing to see here')",
      ],
      "write",
    );
    const rs = await db.execute({
      sql: "SELECT title, bm25(notes) AS score FROM notes WHERE notes MATCH ? ORDER BY bm25(notes)",
      args: ["muninn"],
    });
    expect(rs.rows.map((r) => r.title)).toEqual(["memory", "ravens"]);
    expect(typeof rs.rows[0]?.score).toBe("number");
  });

  it("vector search with F32_BLOB and vector_distance_cos", async () => {
    const db = client("vectors");
    await db.execute("CREATE TABLE items(name TEXT, embedding F32_BLOB(3))");
    await db.batch(
      [
        { sql: "INSERT INTO items VALUES (?, vector32(?))", args: ["x-axis", "[1, 0, 0]"] },
        { sql: "INSERT INTO items VALUES (?, vector32(?))", args: ["y-axis", "[0, 1, 0]"] },
        { sql: "INSERT INTO items VALUES (?, vector32(?))", args: ["diagonal", "[1, 1, 0]"] },
      ],
      "write",
    );
    const rs = await db.execute({
      sql: "SELECT name, vector_distance_cos(embedding, vector32(?)) AS d FROM items ORDER BY d",
      args: ["[0.9, 0.1, 0]"],
    });
    expect(rs.rows.map((r) => r.name)).toEqual(["x-axis", "diagonal", "y-axis"]);
    const blob = await db.execute("SELECT embedding FROM items WHERE name = 'x-axis'");
    expect((blob.rows[0]?.embedding as ArrayBuffer | undefined)?.byteLength).toBe(12);
  });
});

describe("persistence", () => {
  it("keeps databases across a server restart", async () => {
    const dir = await mkdtemp(join(tmpdir(), "libsql-server-restart-"));
    try {
      const first = await startLibsqlServer({ port: 0, dataDir: dir });
      const a = createClient({ url: `${first.url}/keep/` });
      await a.batch(["CREATE TABLE k(v)", "INSERT INTO k VALUES ('kept')"], "write");
      a.close();
      await first.close();

      const second = await startLibsqlServer({ port: 0, dataDir: dir });
      const b = createClient({ url: `${second.url}/keep/` });
      expect((await b.execute("SELECT v FROM k")).rows[0]?.v).toBe("kept");
      b.close();
      await second.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
