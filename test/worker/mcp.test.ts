import { describe, expect, it } from "vitest";
import { callError, callOk, connect, MCP_URL, post, TOOLS_LIST } from "./mcp-support";
import { asTenant, newTenant, workerFetch } from "./support";

const TOOL_ORDER = [
  "context",
  "remember",
  "recall",
  "get",
  "update",
  "forget",
  "restore",
  "list",
  "track",
  "session",
  "link",
  "projects",
];

describe("/mcp protocol surface", () => {
  it("answers the runbook's curl (form content type, no Accept, no session) with the tool list as JSON", async () => {
    const { apiKey } = await newTenant();
    const response = await workerFetch(MCP_URL, {
      method: "POST",
      headers: {
        authorization: `Bearer ${apiKey.key}`,
        "content-type": "application/x-www-form-urlencoded",
        accept: "*/*",
      },
      body: '{"jsonrpc":"2.0","method":"tools/list","id":1}',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/json");
    const text = await response.text();
    expect(text).toContain('"name":"remember"');
    const body = JSON.parse(text) as { result: { tools: { name: string }[] } };
    expect(body.result.tools.map((tool) => tool.name)).toEqual(TOOL_ORDER);
  });

  it("lists the same tools, with annotations and both schemas, in both eras", async () => {
    const { apiKey } = await newTenant();
    const legacy = await connect(apiKey.key, "legacy");
    const modern = await connect(apiKey.key, "modern");
    const [a, b] = await Promise.all([legacy.listTools(), modern.listTools()]);
    expect(a.tools.map((tool) => tool.name)).toEqual(TOOL_ORDER);
    expect(b.tools.map((tool) => tool.name)).toEqual(TOOL_ORDER);
    for (const tool of a.tools) {
      expect(tool.name).toMatch(/^[A-Za-z0-9_.-]+$/);
      expect(tool.title).toMatch(/^[A-Z]/);
      expect(tool.description?.length).toBeGreaterThan(20);
      expect(tool.inputSchema.type).toBe("object");
      expect(tool.outputSchema?.type).toBe("object");
      expect(typeof tool.annotations?.readOnlyHint).toBe("boolean");
      expect(typeof tool.annotations?.destructiveHint).toBe("boolean");
      expect(typeof tool.annotations?.idempotentHint).toBe("boolean");
    }
    expect(b.tools.map((tool) => tool.inputSchema)).toEqual(a.tools.map((tool) => tool.inputSchema));
    await legacy.close();
    await modern.close();
  });

  it("lists every tool argument with a complete schema a strict client accepts", async () => {
    const { apiKey } = await newTenant();
    const response = await post(apiKey.key, TOOLS_LIST);
    const { result } = JSON.parse(await response.text()) as {
      result: { tools: { name: string; inputSchema: unknown }[] };
    };
    const problems = result.tools.flatMap((tool) => schemaProblems(tool.inputSchema, `${tool.name}.inputSchema`));
    expect(problems).toEqual([]);
  });

  it("refuses an unknown field in a remember batch item, naming it", async () => {
    const { apiKey } = await newTenant();
    const client = await connect(apiKey.key, "modern");
    const message = await callError(client, "remember", { memories: [{ content: "x", tilte: "typo" }] });
    expect(message).toContain("tilte");
    const listed = await callOk<{ memories: unknown[] }>(client, "list", {});
    expect(listed.memories).toEqual([]);
  });

  it("remembers in one era and recalls in the other", async () => {
    const { apiKey } = await newTenant();
    const legacy = await connect(apiKey.key, "legacy");
    const modern = await connect(apiKey.key, "modern");
    const saved = await callOk<{ results: { id: string }[] }>(legacy, "remember", {
      content: "We deploy with wrangler versions upload, then a gradual rollout.",
      title: "Deploy procedure",
      kind: "procedure",
      tags: ["deploy"],
    });
    const found = await callOk<{ results: { id: string }[] }>(modern, "recall", { query: "how do we deploy" });
    expect(found.results[0]?.id).toBe(saved.results[0]?.id);
  });

  it("refuses a missing or wrong key with 401 and WWW-Authenticate", async () => {
    for (const key of [null, "mk_wrong"]) {
      const response = await post(key, TOOLS_LIST);
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toContain("resource_metadata=");
    }
  });

  it("refuses a foreign Host or Origin (DNS rebinding) before authenticating", async () => {
    const { apiKey } = await newTenant();
    const evilHost = await post(apiKey.key, TOOLS_LIST, { host: "evil.example.com" });
    expect(evilHost.status).toBe(403);
    const evilOrigin = await post(apiKey.key, TOOLS_LIST, { origin: "http://evil.example.com" });
    expect(evilOrigin.status).toBe(403);
    const sameOrigin = await post(apiKey.key, TOOLS_LIST, { origin: "http://localhost" });
    expect(sameOrigin.status).toBe(200);
  });

  it("refuses an oversized body with 413 and a non-JSON content type with 415", async () => {
    const { apiKey } = await newTenant();
    const huge = JSON.stringify({ ...TOOLS_LIST, params: { pad: "x".repeat(4 * 1024 * 1024) } });
    expect((await post(apiKey.key, huge)).status).toBe(413);
    expect((await post(apiKey.key, TOOLS_LIST, { "content-type": "text/plain" })).status).toBe(415);
    const garbage = await post(apiKey.key, "{not json");
    expect(garbage.status).toBe(400);
    expect(((await garbage.json()) as { error: { code: number } }).error.code).toBe(-32700);
  });

  it("answers GET with 405 (no server-initiated stream)", async () => {
    const { apiKey } = await newTenant();
    const response = await workerFetch(MCP_URL, { headers: asTenant(apiKey.key) });
    expect(response.status).toBe(405);
  });

  it("serves resources and the start-session prompt", async () => {
    const { apiKey } = await newTenant();
    const client = await connect(apiKey.key, "modern");
    const saved = await callOk<{ results: { id: string }[] }>(client, "remember", { content: "Resource body" });
    const id = saved.results[0]!.id;
    const memory = await client.readResource({ uri: `muninn://memories/${id}` });
    expect(JSON.parse((memory.contents[0] as { text: string }).text)).toMatchObject({ id, content: "Resource body" });
    const listed = await client.listResources();
    expect(listed.resources.map((resource) => resource.uri)).toContain("muninn://projects/default/briefing");
    const briefing = await client.readResource({ uri: "muninn://projects/default/briefing" });
    expect((briefing.contents[0] as { text: string }).text).toContain("# Briefing: default");
    await expect(client.readResource({ uri: "muninn://memories/m_missing" })).rejects.toThrow(/not found/i);
    const prompt = await client.getPrompt({ name: "start-session", arguments: { project: "web", task: "fix login" } });
    const message = prompt.messages[0];
    expect(message?.content).toMatchObject({ type: "text" });
    expect((message?.content as { text: string } | undefined)?.text).toContain("`remember`");
  });
});

/**
 * What a strict JSON Schema check (MCP Inspector's `--strict`, the
 * conformance suite) objects to: a node with no validation keyword, an object
 * that admits unknown keys or has no `required` list to check, a string or
 * an array without an upper bound.
 */
function schemaProblems(node: unknown, path: string): string[] {
  if (node === null || typeof node !== "object" || Array.isArray(node)) return [];
  const schema = node as Record<string, unknown>;
  const problems: string[] = [];
  const keywords = Object.keys(schema).filter((key) => key !== "description" && key !== "default");
  if (keywords.length === 0) problems.push(`${path}: no validation keyword`);
  if (schema.type === "object") {
    if (schema.additionalProperties !== false) problems.push(`${path}: additionalProperties is not false`);
    if (typeof schema.properties !== "object") problems.push(`${path}: no properties`);
  }
  if (schema.type === "array" && schema.maxItems === undefined) problems.push(`${path}: array without maxItems`);
  if (schema.type === "string" && schema.maxLength === undefined && schema.enum === undefined && !schema.format) {
    const bounded = typeof schema.pattern === "string" && /\{\d+,\d+\}\$$/.test(schema.pattern);
    if (!bounded) problems.push(`${path}: string without maxLength`);
  }
  for (const [key, value] of Object.entries(schema)) {
    if (key === "properties" && value && typeof value === "object") {
      for (const [name, child] of Object.entries(value)) problems.push(...schemaProblems(child, `${path}.${name}`));
    } else if (key === "items" || key === "additionalProperties") {
      problems.push(...schemaProblems(value, `${path}.${key}`));
    } else if ((key === "anyOf" || key === "oneOf" || key === "allOf") && Array.isArray(value)) {
      for (const [index, child] of value.entries()) problems.push(...schemaProblems(child, `${path}.${key}[${index}]`));
    }
  }
  return problems;
}
