/**
 * The local libSQL server is sealed like Turso: a read-only token cannot
 * write by any spelling of a pragma, no token reaches another database or a
 * file outside its own (ATTACH, VACUUM INTO, the engine's file functions),
 * no statement changes a pooled connection's state for the next stream, and
 * what it writes to disk is readable by its owner only.
 */
import { existsSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LibsqlServer, startLibsqlServer } from "../../tools/libsql-server/server";

const TOKEN = "server-secret";
let root: string;
let dataDir: string;
let server: LibsqlServer;
const clients: Client[] = [];

function connect(db: string, authToken: string): Client {
  const client = createClient({ url: `${server.url}/${db}/`, authToken, intMode: "number" });
  clients.push(client);
  return client;
}

async function mint(db: string, authorization: "read-only" | "full-access"): Promise<string> {
  const response = await fetch(
    `${server.url}/v1/organizations/local/databases/${db}/auth/tokens?authorization=${authorization}&expiration=1d`,
    { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } },
  );
  expect(response.status).toBe(200);
  return ((await response.json()) as { jwt: string }).jwt;
}

async function createDb(name: string): Promise<Client> {
  const response = await fetch(`${server.url}/v1/organizations/local/databases`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ name, group: "default" }),
  });
  expect(response.status).toBe(200);
  const admin = connect(name, TOKEN);
  await admin.execute("CREATE TABLE t(x)");
  return admin;
}

/** Raw Hrana `describe` and `sequence`, which @libsql/client sends only for some calls. */
async function rawRequest(db: string, token: string, request: Record<string, unknown>) {
  const response = await fetch(`${server.url}/${db}/v3/pipeline`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ baton: null, requests: [request, { type: "close" }] }),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { results: { type: string; error?: { code: string } }[] };
  return body.results[0];
}

const count = async (db: Client) => (await db.execute("SELECT count(*) AS n FROM t")).rows[0]?.n;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "libsql-sealed-"));
  dataDir = join(root, "data");
  server = await startLibsqlServer({ port: 0, dataDir, authToken: TOKEN });
  // The management database every tenant token must never reach.
  const management = connect("management", TOKEN);
  await management.execute("CREATE TABLE tenants(id, secret)");
  await management.execute("INSERT INTO tenants VALUES ('t1', 'db-token-of-t1')");
});

afterAll(async () => {
  for (const client of clients) client.close();
  await server.close();
  await rm(root, { recursive: true, force: true });
});

describe("read-only tokens", () => {
  it("cannot lift the restriction by any spelling of PRAGMA query_only", async () => {
    const admin = await createDb("ro-spellings");
    const reader = connect("ro-spellings", await mint("ro-spellings", "read-only"));
    const spellings = [
      "PRAGMA/**/query_only=0",
      "PRAGMA 'query_only' = 0",
      "PRAGMA query_only = 0",
      'PRAGMA main."query_only"(false)',
      "PRAGMA\n--x\nquery_only=OFF",
      "EXPLAIN PRAGMA query_only=0",
    ];
    for (const pragma of spellings) {
      await expect(reader.execute(pragma), pragma).rejects.toMatchObject({ code: "SQLITE_AUTH" });
      await expect(reader.executeMultiple(`${pragma}; INSERT INTO t VALUES (1);`), pragma).rejects.toThrow();
      await expect(reader.batch([pragma, "INSERT INTO t VALUES (2)"], "write"), pragma).rejects.toThrow();
      await expect(reader.execute("INSERT INTO t VALUES (3)"), pragma).rejects.toMatchObject({
        code: expect.stringMatching(/^SQLITE_READONLY/),
      });
    }
    expect(await count(admin)).toBe(0);
    // Reading still works, and the pooled connections still write for a full-access token.
    expect(await count(reader)).toBe(0);
    await admin.execute("INSERT INTO t VALUES (1)");
    expect(await count(admin)).toBe(1);
  });

  it("cannot lift it through describe or sequence requests", async () => {
    const admin = await createDb("ro-describe");
    const token = await mint("ro-describe", "read-only");
    // Preparing a flag pragma already applies it, so `describe` is checked too.
    const described = await rawRequest("ro-describe", token, { type: "describe", sql: "PRAGMA query_only=0" });
    expect(described).toMatchObject({ type: "error", error: { code: "SQLITE_AUTH" } });
    const sequence = await rawRequest("ro-describe", token, {
      type: "sequence",
      sql: "PRAGMA query_only=0; INSERT INTO t VALUES (1);",
    });
    expect(sequence?.type).toBe("error");
    expect(await count(admin)).toBe(0);
  });
});

describe("every token", () => {
  it("cannot ATTACH another database, however it is spelled", async () => {
    await createDb("attacher");
    const tenant = connect("attacher", await mint("attacher", "full-access"));
    const management = join(dataDir, "management.db");
    for (const sql of [
      `ATTACH DATABASE '${management}' AS m`,
      `/* hi */ attach '${management}' as m`,
      `ATTACH (SELECT '${management}') AS m`,
    ]) {
      await expect(tenant.execute(sql), sql).rejects.toMatchObject({ code: "SQLITE_AUTH" });
      await expect(tenant.executeMultiple(`${sql}; SELECT 1;`), sql).rejects.toThrow();
    }
    await expect(tenant.execute("SELECT secret FROM m.tenants")).rejects.toThrow(/no such table/);
    await expect(tenant.execute("DETACH DATABASE m")).rejects.toMatchObject({ code: "SQLITE_AUTH" });
  });

  it("attaching a missing path creates no file", async () => {
    await createDb("creator");
    const tenant = connect("creator", await mint("creator", "full-access"));
    const target = join(root, "created-by-attach.db");
    await expect(tenant.execute(`ATTACH '${target}' AS x`)).rejects.toMatchObject({ code: "SQLITE_AUTH" });
    await expect(tenant.execute(`VACUUM INTO '${join(root, "vacuumed.db")}'`)).rejects.toMatchObject({
      code: "SQLITE_AUTH",
    });
    expect(existsSync(target)).toBe(false);
    expect(existsSync(join(root, "vacuumed.db"))).toBe(false);
  });

  it("cannot read or write files through the engine's functions or load extensions", async () => {
    await createDb("files");
    const tenant = connect("files", await mint("files", "full-access"));
    const written = join(root, "written-by-sql");
    for (const sql of [
      "SELECT readfile('/etc/hostname')",
      `SELECT writefile('${written}', 'x')`,
      `SELECT "writefile"('${written}', 'x')`,
      "SELECT name FROM fsdir('/etc')",
      "SELECT name FROM 'fsdir' WHERE path = '/etc'",
      "SELECT name FROM main.'fsdir'('/etc')",
      "SELECT [readfile]('/etc/hostname')",
      "SELECT load_extension('/tmp/nothing.so')",
      `SELECT sha3_query('ATTACH ''${join(dataDir, "management.db")}'' AS m')`,
    ]) {
      await expect(tenant.execute(sql), sql).rejects.toMatchObject({ code: expect.stringMatching(/^SQLITE_/) });
    }
    expect(existsSync(written)).toBe(false);
  });

  it("cannot change connection state with a pragma, but reads schema pragmas", async () => {
    const admin = await createDb("pragmas");
    const tenant = connect("pragmas", await mint("pragmas", "full-access"));
    for (const sql of [
      "PRAGMA writable_schema = 1",
      "PRAGMA journal_mode = DELETE",
      "PRAGMA user_version = 7",
      "PRAGMA query_only = 1",
      "PRAGMA optimize",
      "PRAGMA incremental_vacuum",
    ]) {
      await expect(tenant.execute(sql), sql).rejects.toMatchObject({ code: "SQLITE_AUTH" });
    }
    expect((await tenant.execute("PRAGMA user_version")).rows[0]?.user_version).toBe(0);
    expect((await tenant.execute("PRAGMA main.table_info('t')")).rows.map((r) => r.name)).toEqual(["x"]);
    expect((await tenant.execute("PRAGMA main.table_list")).rows.length).toBeGreaterThan(0);
    expect((await tenant.execute("SELECT name FROM pragma_table_info('t')")).rows[0]?.name).toBe("x");
    // Foreign keys may be switched (the client's migrate() does), and no stream inherits the switch.
    await tenant.batch(["PRAGMA foreign_keys = ON", "SELECT 1"], "write");
    expect((await tenant.execute("PRAGMA foreign_keys")).rows[0]?.foreign_keys).toBe(0);
    // Ordinary work is untouched, including words that only look like the refused ones.
    await tenant.execute({ sql: "INSERT INTO t VALUES (?)", args: ["ATTACH 'x' AS y; PRAGMA query_only=0"] });
    await tenant.execute("INSERT INTO t VALUES ('attach pragma vacuum')");
    expect(await count(admin)).toBe(2);
  });
});

describe("files on disk", () => {
  it("are readable by their owner only", async () => {
    await createDb("perms");
    const mode = (path: string) => statSync(path).mode & 0o777;
    expect(mode(dataDir)).toBe(0o700);
    expect(mode(join(dataDir, "perms.db"))).toBe(0o600);
    expect(mode(join(dataDir, "perms.db-wal"))).toBe(0o600);
    expect(mode(join(dataDir, "platform-metadata.json"))).toBe(0o600);
  });
});
