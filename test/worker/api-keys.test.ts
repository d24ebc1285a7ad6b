import { afterEach, describe, expect, it, vi } from "vitest";
import { post, TOOLS_LIST } from "./mcp-support";
import { newAccount } from "./oauth-support";
import { openMgmtDb, workerFetch } from "./support";

/** A signed-up owner: the first key carries every scope, keys:manage included. */
async function newTenant() {
  const account = await newAccount();
  return { apiKey: { key: account.apiKey } };
}

const API = "http://localhost/api/keys";

function keys(key: string | null, init: { method?: string; path?: string; body?: unknown } = {}) {
  return workerFetch(`${API}${init.path ?? ""}`, {
    method: init.method ?? "GET",
    headers: { ...(key && { authorization: `Bearer ${key}` }), "content-type": "application/json" },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
}

async function createKey(owner: string, body: Record<string, unknown>) {
  const response = await keys(owner, { method: "POST", body });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; key: string; prefix: string; scopes: string[] };
}

const toolCall = (name: string, args: Record<string, unknown>) => ({
  jsonrpc: "2.0",
  id: 7,
  method: "tools/call",
  params: { name, arguments: args },
});

afterEach(() => {
  vi.useRealTimers();
});

describe("API keys", () => {
  it("creates a key shown once, lists id, prefix, name, scopes, created, last used and expiry, and revokes it", async () => {
    const { apiKey } = await newTenant();
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const created = await createKey(apiKey.key, { name: "ci", scopes: ["mcp:read"], expires_at: expiresAt });
    expect(created.key).toMatch(/^mk_[A-Za-z0-9]{40}$/);
    expect(created.prefix).toBe(created.key.slice(0, 11));

    const listed = (await (await keys(apiKey.key)).json()) as { data: Record<string, unknown>[] };
    const entry = listed.data.find((key) => key.id === created.id);
    expect(entry).toEqual({
      id: created.id,
      object: "api_key",
      prefix: created.prefix,
      name: "ci",
      scopes: ["mcp:read"],
      created_at: expect.any(String),
      last_used_at: null,
      expires_at: expiresAt,
      member_id: expect.stringMatching(/^usr_/),
    });
    expect(JSON.stringify(listed)).not.toContain(created.key);

    const revoked = await keys(apiKey.key, { method: "DELETE", path: `/${created.id}` });
    expect(revoked.status).toBe(200);
    const after = (await (await keys(apiKey.key)).json()) as { data: { id: string }[] };
    expect(after.data.map((key) => key.id)).not.toContain(created.id);
    expect((await keys(apiKey.key, { method: "DELETE", path: `/${created.id}` })).status).toBe(404);
  });

  it("refuses bad input naming the field: unknown scope, no scopes, expiry in the past", async () => {
    const { apiKey } = await newTenant();
    for (const body of [
      { name: "x", scopes: ["admin"] },
      { name: "x", scopes: [] },
      { name: "x", scopes: ["mcp:tools"], expires_at: "2001-01-01T00:00:00Z" },
      { name: "", scopes: ["mcp:tools"] },
    ]) {
      const response = await keys(apiKey.key, { method: "POST", body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(await response.json()).toMatchObject({ error: { type: "invalid_request" } });
    }
  });

  it("requires keys:manage: a key without it gets 403 insufficient_scope", async () => {
    const { apiKey } = await newTenant();
    const toolsOnly = await createKey(apiKey.key, { name: "agent", scopes: ["mcp:tools"] });
    for (const [method, path, body] of [
      ["GET", "", undefined],
      ["POST", "", { name: "y", scopes: ["mcp:tools"] }],
      ["DELETE", `/${toolsOnly.id}`, undefined],
    ] as const) {
      const response = await keys(toolsOnly.key, { method, path, body });
      expect(response.status, `${method} ${path}`).toBe(403);
      expect(response.headers.get("www-authenticate")).toContain('error="insufficient_scope", scope="keys:manage"');
      expect(await response.json()).toMatchObject({ error: { code: "insufficient_scope" } });
    }
    expect((await keys(null)).status).toBe(401);
  });

  it("mcp:read calls read-only tools; a write tool answers 403 with the scope challenge and a JSON-RPC error", async () => {
    const { apiKey } = await newTenant();
    const reader = await createKey(apiKey.key, { name: "reader", scopes: ["mcp:read"] });
    expect((await post(reader.key, TOOLS_LIST)).status).toBe(200);
    const read = await post(reader.key, toolCall("recall", { query: "anything" }));
    expect(read.status).toBe(200);
    expect(((await read.json()) as { result: { isError?: boolean } }).result.isError).toBeFalsy();

    const write = await post(reader.key, toolCall("remember", { type: "fact", title: "t", content: "c" }));
    expect(write.status).toBe(403);
    expect(write.headers.get("www-authenticate")).toBe(
      'Bearer error="insufficient_scope", scope="mcp:tools", resource_metadata="http://localhost/.well-known/oauth-protected-resource/mcp"',
    );
    expect(await write.json()).toMatchObject({
      jsonrpc: "2.0",
      id: 7,
      error: {
        code: -32000,
        message: expect.stringContaining("remember writes memory"),
        data: { code: "insufficient_scope" },
      },
    });

    // A key with no MCP scope at all cannot use /mcp.
    const manager = await createKey(apiKey.key, { name: "manager", scopes: ["keys:manage"] });
    const refused = await post(manager.key, TOOLS_LIST);
    expect(refused.status).toBe(403);
    expect(refused.headers.get("www-authenticate")).toContain('scope="mcp:tools"');
  });

  it("a revoked key stops at once on the isolate that revoked it", async () => {
    const { apiKey } = await newTenant();
    const doomed = await createKey(apiKey.key, { name: "doomed", scopes: ["mcp:tools"] });
    expect((await post(doomed.key, TOOLS_LIST)).status).toBe(200); // now cached as verified
    expect((await keys(apiKey.key, { method: "DELETE", path: `/${doomed.id}` })).status).toBe(200);
    const refused = await post(doomed.key, TOOLS_LIST);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { message: expect.stringContaining("API key revoked") } });
  });

  it("a key revoked elsewhere stops here once its cached verification is 60 s old", async () => {
    const { apiKey } = await newTenant();
    const doomed = await createKey(apiKey.key, { name: "elsewhere", scopes: ["mcp:tools"] });
    expect((await post(doomed.key, TOOLS_LIST)).status).toBe(200);
    // Another isolate revokes: only the management DB changes, this isolate's cache does not hear of it.
    await openMgmtDb().execute(
      { sql: "UPDATE api_keys SET revoked_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?", args: [doomed.id] },
      "write",
    );
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 59_000);
    expect((await post(doomed.key, TOOLS_LIST)).status).toBe(200);
    vi.setSystemTime(Date.now() + 2_000);
    expect((await post(doomed.key, TOOLS_LIST)).status).toBe(401);
  });

  it("an expired key stops at its expiry on every isolate, cached or not, and says why", async () => {
    const { apiKey } = await newTenant();
    const expiresAt = Date.now() + 3_600_000;
    const temporary = await createKey(apiKey.key, {
      name: "temp",
      scopes: ["mcp:tools"],
      expires_at: new Date(expiresAt).toISOString(),
    });
    expect((await post(temporary.key, TOOLS_LIST)).status).toBe(200);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(expiresAt + 1);
    const refused = await post(temporary.key, TOOLS_LIST);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { message: expect.stringContaining("API key expired") } });
  });
});

describe("401 on /mcp", () => {
  it("points at protected-resource metadata and asks for mcp:tools, with a JSON-RPC body saying what is wrong", async () => {
    const { apiKey } = await newTenant();
    const unknown = `mk_${"A".repeat(40)}`;
    const revokedKey = await createKey(apiKey.key, { name: "gone", scopes: ["mcp:tools"] });
    await keys(apiKey.key, { method: "DELETE", path: `/${revokedKey.id}` });
    const cases: [string | null, string][] = [
      [null, "missing credential"],
      [unknown, "invalid API key"],
      [revokedKey.key, "API key revoked"],
      ["not-a-key-or-token", "invalid or expired access token"],
    ];
    for (const [key, message] of cases) {
      const response = await post(key, TOOLS_LIST);
      expect(response.status, String(key)).toBe(401);
      const challenge = response.headers.get("www-authenticate") ?? "";
      expect(challenge).toMatch(
        /^Bearer resource_metadata="http:\/\/localhost\/\.well-known\/oauth-protected-resource\/mcp", scope="mcp:tools"/,
      );
      if (key) expect(challenge).toContain('error="invalid_token"');
      const body = (await response.json()) as { jsonrpc: string; error: { code: number; message: string } };
      expect(body.jsonrpc).toBe("2.0");
      expect(body.error.message).toContain(message);
    }
  });
});
