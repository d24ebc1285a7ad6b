/**
 * The local libSQL server's door: the bearer token on Hrana, and the Platform
 * API (Turso's database and token endpoints) that tenant provisioning calls.
 */

import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { createClient as createWebClient } from "@libsql/client/web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LibsqlServer, startLibsqlServer } from "../../tools/libsql-server/server";

/** JSON off the wire; its shape is what the assertions check. */
// biome-ignore lint/suspicious/noExplicitAny: see above
type Json = any;

const TOKEN = "server-secret";
let dataDir: string;
let secured: LibsqlServer;

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status };
}

const exec = (sql: string, args: unknown[] = []) => ({ type: "execute", stmt: { sql, args } });

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "libsql-server-platform-"));
  secured = await startLibsqlServer({ port: 0, dataDir, authToken: TOKEN });
});

afterAll(async () => {
  await secured.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe("auth", () => {
  it("requires the bearer token when configured", async () => {
    const url = `${secured.url}/authdb/v2/pipeline`;
    const body = { baton: null, requests: [exec("SELECT 1"), { type: "close" }] };
    expect((await post(url, body)).status).toBe(401);
    expect((await post(url, body, { authorization: "Bearer wrong" })).status).toBe(401);
    expect((await post(url, body, { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    // Version probes carry no credentials.
    expect((await fetch(`${secured.url}/authdb/v2`)).status).toBe(200);

    const anonymous = createClient({ url: `${secured.url}/authdb/` });
    await expect(anonymous.execute("SELECT 1")).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    anonymous.close();
    const authed = createWebClient({ url: `${secured.url}/authdb/`, authToken: TOKEN });
    expect((await authed.execute("SELECT 1 AS one")).rows[0]?.one).toBe(1);
    authed.close();
  });
});

describe("Platform API", () => {
  const api = (path: string) => `${secured.url}/v1/organizations/local${path}`;
  const auth = { authorization: `Bearer ${TOKEN}` };

  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = auth) {
    const response = await fetch(api(path), {
      method,
      headers: { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as Json };
  }

  it("create → list → get → mint token → use → delete → 404", async () => {
    const created = await call("POST", "/databases", { name: "tenant-1", group: "default" });
    expect(created.status).toBe(200);
    expect(created.json).toEqual({
      database: {
        DbId: expect.any(String),
        Hostname: `${secured.url.replace("http://", "")}/tenant-1`,
        Name: "tenant-1",
      },
    });
    expect((await call("POST", "/databases", { name: "tenant-1", group: "default" })).status).toBe(409);

    const listed = await call("GET", "/databases");
    expect(listed.json.databases.map((d: { Name: string }) => d.Name)).toContain("tenant-1");
    const fetched = await call("GET", "/databases/tenant-1");
    expect(fetched.json.database).toMatchObject({
      Name: "tenant-1",
      DbId: created.json.database.DbId,
      group: "default",
    });

    const minted = await call("POST", "/databases/tenant-1/auth/tokens?expiration=never&authorization=full-access");
    expect(minted.json).toEqual({ jwt: expect.any(String) });
    const db = createWebClient({ url: `http://${created.json.database.Hostname}/`, authToken: minted.json.jwt });
    await db.execute("CREATE TABLE t(x)");
    await db.execute("INSERT INTO t VALUES (1)");
    expect((await db.execute("SELECT count(*) AS n FROM t")).rows[0]?.n).toBe(1);

    // The minted token is for this database only.
    const elsewhere = createClient({ url: `${secured.url}/other-db/`, authToken: minted.json.jwt });
    await expect(elsewhere.execute("SELECT 1")).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    elsewhere.close();

    expect(existsSync(join(dataDir, "tenant-1.db"))).toBe(true);
    expect(await call("DELETE", "/databases/tenant-1")).toEqual({ status: 200, json: { database: "tenant-1" } });
    expect((await call("GET", "/databases/tenant-1")).status).toBe(404);
    expect(existsSync(join(dataDir, "tenant-1.db"))).toBe(false);
    // Deleting revokes its tokens.
    await expect(db.execute("SELECT 1")).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    db.close();
  });

  it("read-only tokens cannot write", async () => {
    await call("POST", "/databases", { name: "ro-db", group: "default" });
    const admin = createClient({ url: `${secured.url}/ro-db/`, authToken: TOKEN });
    await admin.execute("CREATE TABLE t(x)");
    const { json } = await call("POST", "/databases/ro-db/auth/tokens?authorization=read-only&expiration=1d");
    const reader = createClient({ url: `${secured.url}/ro-db/`, authToken: json.jwt });
    expect((await reader.execute("SELECT count(*) AS n FROM t")).rows[0]?.n).toBe(0);
    await expect(reader.execute("INSERT INTO t VALUES (1)")).rejects.toMatchObject({ code: "SQLITE_READONLY" });
    // Pooled connections do not stay read-only for others.
    await admin.execute("INSERT INTO t VALUES (1)");
    reader.close();
    admin.close();
  });

  it("read-only tokens cannot lift their own restriction with PRAGMA query_only", async () => {
    await call("POST", "/databases", { name: "ro-pragma", group: "default" });
    const admin = createClient({ url: `${secured.url}/ro-pragma/`, authToken: TOKEN });
    await admin.execute("CREATE TABLE t(x)");
    const { json } = await call("POST", "/databases/ro-pragma/auth/tokens?authorization=read-only&expiration=1d");
    const reader = createClient({ url: `${secured.url}/ro-pragma/`, authToken: json.jwt });
    for (const pragma of ["PRAGMA query_only = 0", "pragma main.query_only(false)", 'PRAGMA "query_only"=OFF']) {
      await expect(reader.execute(pragma)).rejects.toMatchObject({ code: "SQLITE_AUTH" });
      await expect(reader.executeMultiple(`${pragma}; INSERT INTO t VALUES (2);`)).rejects.toMatchObject({
        code: "SQLITE_AUTH",
      });
    }
    await expect(reader.batch(["PRAGMA query_only = 0", "INSERT INTO t VALUES (3)"], "write")).rejects.toThrow();
    await expect(reader.execute("INSERT INTO t VALUES (4)")).rejects.toMatchObject({ code: "SQLITE_READONLY" });
    expect((await admin.execute("SELECT count(*) AS n FROM t")).rows[0]?.n).toBe(0);
    // No token may set it: the server refuses every pragma that changes state.
    await expect(admin.execute("PRAGMA query_only = 0")).rejects.toMatchObject({ code: "SQLITE_AUTH" });
    reader.close();
    admin.close();
  });

  it("answers CORS for loopback origins only", async () => {
    const preflight = (origin: string) =>
      fetch(`${secured.url}/v2`, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST" } });
    for (const origin of ["http://localhost:5173", "http://127.0.0.1:8787", "http://[::1]:3000"]) {
      expect((await preflight(origin)).headers.get("access-control-allow-origin")).toBe(origin);
    }
    for (const origin of ["https://evil.example", "http://localhost.evil.example", "null"]) {
      expect((await preflight(origin)).headers.get("access-control-allow-origin")).toBeNull();
    }
  });

  it("requires the platform token and validates input", async () => {
    expect((await call("GET", "/databases", undefined, {})).status).toBe(401);
    expect((await call("POST", "/databases", { name: "Bad Name" })).status).toBe(400);
    expect((await call("GET", "/databases/missing")).status).toBe(404);
    expect((await call("POST", "/databases/missing/auth/tokens")).status).toBe(404);
    const bad = await call("GET", "/databases/missing");
    expect(bad.json).toEqual({ error: expect.any(String) });
  });

  it("lists databases created on first use", async () => {
    const db = createClient({ url: `${secured.url}/first-use/`, authToken: TOKEN });
    await db.execute("SELECT 1");
    db.close();
    const listed = await call("GET", "/databases");
    expect(listed.json.databases.map((d: { Name: string }) => d.Name)).toContain("first-use");
  });
});
