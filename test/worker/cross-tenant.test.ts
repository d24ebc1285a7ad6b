import type { Client } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callOk, connect as connectMcp, initializeSession, post, sessionPost, TOOLS_LIST } from "./mcp-support";
import { BASE, connect as connectOAuth, newAccount } from "./oauth-support";
import { workerFetch } from "./support";

/**
 * The isolation matrix: with tenant A's API key and with A's OAuth access
 * token, try every route and tool on tenant B's memories, sessions, keys,
 * usage and grants. Nothing of B's is read, written, listed or deleted.
 */
type Account = Awaited<ReturnType<typeof newAccount>>;
let a: Account;
let b: Account;
let bMemory: string;
let bSession: string;
let bKeyId: string;
let bGrantId: string;
let bToken: string;
const clients: Client[] = [];

const SECRET = `b-only-${crypto.randomUUID()}`;

function api(credential: string, path: string, init: RequestInit = {}) {
  return workerFetch(`${BASE}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${credential}`, "content-type": "application/json", ...init.headers },
  });
}

beforeAll(async () => {
  [a, b] = await Promise.all([newAccount(), newAccount()]);
  const bClient = await connectMcp(b.apiKey, "modern");
  clients.push(bClient);
  const saved = await callOk<{ results: { id: string }[] }>(bClient, "remember", {
    content: `B's private fact ${SECRET}`,
    title: "B private",
    project: "secret-project",
  });
  bMemory = saved.results[0]?.id ?? "";
  bSession = await initializeSession(b.apiKey);
  const keys = (await (await api(b.apiKey, "/api/keys")).json()) as { data: { id: string }[] };
  bKeyId = keys.data[0]?.id ?? "";
  const flow = await connectOAuth(b);
  bToken = flow.tokens.access_token;
  const grants = (await (await api(b.apiKey, "/api/oauth/grants")).json()) as { data: { id: string }[] };
  bGrantId = grants.data[0]?.id ?? "";
}, 60_000);

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => {});
});

async function bStillIntact() {
  const bClient = await connectMcp(b.apiKey, "modern");
  clients.push(bClient);
  const got = await callOk<{ memories: { id: string; content: string }[] }>(bClient, "get", { ids: [bMemory] });
  expect(got.memories[0]?.content).toContain(SECRET);
  expect((await sessionPost(b.apiKey, bSession, TOOLS_LIST)).status).toBe(200);
  expect((await post(bToken, TOOLS_LIST)).status).toBe(200);
  const keys = (await (await api(b.apiKey, "/api/keys")).json()) as { data: { id: string }[] };
  expect(keys.data.map((key) => key.id)).toContain(bKeyId);
}

describe("cross-tenant isolation", () => {
  for (const kind of ["api key", "oauth token"] as const) {
    it(`tenant A's ${kind} never reads, writes, lists or deletes tenant B's data`, async () => {
      const credential =
        kind === "api key" ? a.apiKey : (await connectOAuth(a, { scope: "mcp:tools keys:manage" })).tokens.access_token;
      const client = await connectMcp(credential, "modern");
      clients.push(client);

      // Memories: every tool that takes an id or searches.
      expect(await callOk(client, "get", { ids: [bMemory] })).toMatchObject({ memories: [], not_found: [bMemory] });
      const recalled = await callOk(client, "recall", { query: SECRET });
      expect(JSON.stringify(recalled)).not.toContain(SECRET);
      const listed = await callOk(client, "list", {});
      expect(JSON.stringify(listed)).not.toContain(bMemory);
      const projects = await callOk(client, "projects", {});
      expect(JSON.stringify(projects)).not.toContain("secret-project");
      const context = await callOk(client, "context", { project: "secret-project" });
      expect(JSON.stringify(context)).not.toContain(SECRET);
      for (const [tool, args] of [
        ["update", { id: bMemory, content: "overwritten by A" }],
        ["link", { from_id: bMemory, to_id: bMemory, relation: "relates_to" }],
      ] as const) {
        const result = await client.callTool({ name: tool, arguments: args });
        expect(result.isError, tool).toBe(true);
      }
      expect(await callOk(client, "forget", { ids: [bMemory], hard: true })).not.toMatchObject({
        forgotten: [bMemory],
      });
      expect(await callOk(client, "restore", { ids: [bMemory] })).toMatchObject({ restored: [] });
      const resources = await client.listResources();
      expect(JSON.stringify(resources)).not.toContain(bMemory);

      // Sessions: B's session id is unknown to A; closing it or all of A's leaves B's alive.
      expect((await sessionPost(credential, bSession, TOOLS_LIST)).status).toBe(404);
      const closeOne = await workerFetch(`${BASE}/mcp`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${credential}`, "mcp-session-id": bSession },
      });
      expect(closeOne.status).toBe(404);
      await workerFetch(`${BASE}/mcp`, { method: "DELETE", headers: { authorization: `Bearer ${credential}` } });

      // Keys: not listed, not revocable.
      const keys = (await (await api(credential, "/api/keys")).json()) as { data: { id: string }[] };
      expect(keys.data.map((key) => key.id)).not.toContain(bKeyId);
      expect((await api(credential, `/api/keys/${bKeyId}`, { method: "DELETE" })).status).toBe(404);

      // Usage and identity: A's own.
      const usage = (await (await api(credential, "/api/usage")).json()) as { tenant_id: string };
      expect(usage.tenant_id).toBe(a.tenantId);
      const me = (await (await api(credential, "/api/me")).json()) as { tenant_id: string };
      expect(me.tenant_id).toBe(a.tenantId);

      // Grants: B's are not listed and cannot be revoked.
      const grants = (await (await api(credential, "/api/oauth/grants")).json()) as { data: { id: string }[] };
      expect(grants.data.map((grant) => grant.id)).not.toContain(bGrantId);
      expect((await api(credential, `/api/oauth/grants/${bGrantId}`, { method: "DELETE" })).status).toBe(404);

      // The operator API is not a tenant's: a key and an OAuth token alike are 403.
      expect((await api(credential, `/api/tenants/${b.tenantId}`)).status).toBe(403);

      await bStillIntact();
    }, 60_000);
  }
});
