import { describe, expect, it } from "vitest";
import { signUp } from "../../shared/accounts/signup";
import { isWriteTool, TOOLS } from "../../workers/mcp/tools/registry";
import { connect, post } from "./mcp-support";
import { connect as connectOAuth } from "./oauth-support";
import { config, openMgmtDb, workerFetch } from "./support";

/**
 * A credential is shown only what it may use (docs/mcp.md, "What a
 * credential sees"): `mcp:read` lists the read-only tools, no prompt whose
 * steps write, and every resource; `mcp:tools` lists everything. In both
 * protocol eras, for API keys and OAuth tokens. Calling a hidden write tool
 * or prompt anyway is refused as before (memory-scopes.test.ts has every door).
 */
const READ_TOOLS = TOOLS.filter((tool) => !isWriteTool(tool.name)).map((tool) => tool.name);
const ALL_TOOLS = TOOLS.map((tool) => tool.name);
const PASSWORD = "a long enough passphrase for lists";

async function account() {
  const email = `lists-${crypto.randomUUID().slice(0, 8)}@example.test`;
  const signed = await signUp(openMgmtDb(), config, { email, password: PASSWORD, orgName: "Lists", plan: "pro" });
  return { email, password: PASSWORD, key: signed.apiKey.key };
}

async function createKey(fullKey: string, scopes: string[]): Promise<string> {
  const response = await workerFetch("/api/keys", {
    method: "POST",
    headers: { authorization: `Bearer ${fullKey}`, "content-type": "application/json" },
    body: JSON.stringify({ name: scopes.join(" "), scopes }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { key: string }).key;
}

async function seen(credential: string, era: "legacy" | "modern") {
  const sdk = await connect(credential, era);
  try {
    const tools = (await sdk.listTools()).tools.map((tool) => tool.name);
    const prompts = (await sdk.listPrompts()).prompts.map((prompt) => prompt.name);
    const templates = (await sdk.listResourceTemplates()).resourceTemplates.map((template) => template.uriTemplate);
    return { tools, prompts, templates };
  } finally {
    await sdk.close();
  }
}

const TEMPLATES = ["muninn://memories/{id}", "muninn://projects/{project}/briefing"];

async function expectInsufficientScope(response: Response) {
  expect(response.status).toBe(403);
  expect(response.headers.get("www-authenticate")).toContain('error="insufficient_scope", scope="mcp:tools"');
  const body = (await response.json()) as { jsonrpc: string; id: unknown; error: { message: string } };
  expect(body).toMatchObject({ jsonrpc: "2.0", id: 9 });
  expect(body.error.message).toContain("needs mcp:tools");
}

describe("what a credential sees on /mcp", () => {
  for (const era of ["legacy", "modern"] as const) {
    it(`an mcp:read key lists only the read-only tools and prompts, and every resource (${era})`, async () => {
      const { key } = await account();
      const reader = await createKey(key, ["mcp:read"]);
      const view = await seen(reader, era);
      expect(view.tools).toEqual(READ_TOOLS);
      expect(view.tools).toContain("recall");
      expect(view.tools).not.toContain("remember");
      expect(view.prompts).toEqual([]);
      expect(view.templates.sort()).toEqual(TEMPLATES);
    });

    it(`an mcp:tools key lists every tool and prompt (${era})`, async () => {
      const { key } = await account();
      const writer = await createKey(key, ["mcp:tools"]);
      const view = await seen(writer, era);
      expect(view.tools).toEqual(ALL_TOOLS);
      expect(view.prompts).toEqual(["start-session"]);
      expect(view.templates.sort()).toEqual(TEMPLATES);
    });
  }

  it("an OAuth token granted mcp:read lists only the read-only tools, in both eras", async () => {
    const owner = await account();
    const { tokens } = await connectOAuth(owner, { scope: "mcp:read" });
    expect(tokens.scope).toBe("mcp:read");
    for (const era of ["legacy", "modern"] as const) {
      const view = await seen(tokens.access_token, era);
      expect(view.tools, era).toEqual(READ_TOOLS);
      expect(view.prompts, era).toEqual([]);
    }
  });

  it("the isolate's kept tools/list answer is per scope set: a reader never gets the writer's list", async () => {
    const { key } = await account();
    const reader = await createKey(key, ["mcp:read"]);
    const writer = await createKey(key, ["mcp:tools"]);
    // One request shape the isolate has not seen, sent by the writer first (kept), then the reader, then the writer again.
    const body = {
      jsonrpc: "2.0",
      id: 3,
      method: "tools/list",
      params: { _meta: { "test/nonce": crypto.randomUUID() } },
    };
    const names = async (credential: string) => {
      const response = await post(credential, body);
      expect(response.status).toBe(200);
      return ((await response.json()) as { result: { tools: { name: string }[] } }).result.tools.map((t) => t.name);
    };
    expect(await names(writer)).toEqual(ALL_TOOLS);
    expect(await names(reader)).toEqual(READ_TOOLS);
    expect(await names(reader)).toEqual(READ_TOOLS);
    expect(await names(writer)).toEqual(ALL_TOOLS);
  });

  it("a hidden write tool or prompt called anyway is refused with 403 insufficient_scope and the challenge", async () => {
    const { key } = await account();
    const reader = await createKey(key, ["mcp:read"]);
    await expectInsufficientScope(
      await post(reader, {
        jsonrpc: "2.0",
        id: 9,
        method: "tools/call",
        params: { name: "remember", arguments: { content: "x" } },
      }),
    );
    await expectInsufficientScope(
      await post(reader, { jsonrpc: "2.0", id: 9, method: "prompts/get", params: { name: "start-session" } }),
    );
    const writer = await createKey(key, ["mcp:tools"]);
    const prompt = await post(writer, {
      jsonrpc: "2.0",
      id: 9,
      method: "prompts/get",
      params: { name: "start-session", arguments: {} },
    });
    expect(prompt.status).toBe(200);
    expect(await prompt.json()).toMatchObject({ result: { messages: expect.any(Array) } });
  });
});
