import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { UsageMeter } from "../../durable-objects/tenant/quota";
import { openDatabase } from "../../shared/db/client";
import { getTenantDatabase } from "../../shared/tenants/tenants";
import { post } from "./mcp-support";
import { config, leasesSettled, newTenant, openMgmtDb } from "./support";

const MODERN = "2026-07-28";

/** A raw 2026-era `tools/call` with the headers the transport requires, each overridable. */
function modernCall(key: string, tool: string, args: unknown, headers: Record<string, string> = {}) {
  return post(
    key,
    {
      jsonrpc: "2.0",
      id: 7,
      method: "tools/call",
      params: {
        name: tool,
        arguments: args,
        _meta: {
          "io.modelcontextprotocol/protocolVersion": MODERN,
          "io.modelcontextprotocol/clientInfo": { name: "metering-test", version: "1" },
          "io.modelcontextprotocol/clientCapabilities": {},
        },
      },
    },
    { "mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": tool, ...headers },
  );
}

/** Count `n` tool calls straight into the tenant's meter, as that many earlier calls would have. */
async function useToolCalls(tenantId: string, n: number) {
  await runInDurableObject(env.TENANT_DO.getByName(tenantId), (_instance, state) => {
    const meter = new UsageMeter(state.storage.sql);
    for (let i = 0; i < n; i++) meter.count(["tool_calls"], Date.now());
  });
  // Written behind the object's back: make it read its counters again.
  await evictDurableObject(env.TENANT_DO.getByName(tenantId));
}

/** Tool calls counted for the tenant once the leases they were charged from are settled. */
async function toolCalls(tenantId: string): Promise<number> {
  await leasesSettled(tenantId);
  return (await env.TENANT_DO.getByName(tenantId).usageStatus())?.usage.toolCalls ?? 0;
}

async function memoryCount(tenantId: string): Promise<number> {
  const record = await getTenantDatabase(openMgmtDb(), config, tenantId);
  if (!record) throw new Error(`no database for tenant ${tenantId}`);
  const db = openDatabase(record.coordinates, config.dbTimeoutMs);
  try {
    return Number((await db.execute("SELECT count(*) AS n FROM memories", "read")).rows[0]?.n);
  } finally {
    db.close();
  }
}

describe("tool-call metering follows what runs", () => {
  it("charges a call sent with the encoded Mcp-Name form and refuses it once the quota is spent", async () => {
    const { tenant, apiKey } = await newTenant("free");
    await useToolCalls(tenant.id, 9_998);
    const encoded = { "mcp-name": `=?base64?${btoa("remember")}?=` };

    const ran = await modernCall(apiKey.key, "remember", { content: "encoded header, first" }, encoded);
    expect(ran.status).toBe(200);
    expect(await ran.json()).toMatchObject({ result: { structuredContent: { saved: 1 } } });
    expect(await toolCalls(tenant.id)).toBe(9_999);

    expect((await modernCall(apiKey.key, "remember", { content: "plain header, last" })).status).toBe(200);
    expect(await toolCalls(tenant.id)).toBe(10_000);

    for (const headers of [encoded, {}]) {
      const refused = await modernCall(apiKey.key, "remember", { content: "past the quota" }, headers);
      expect(refused.status).toBe(429);
      expect(await refused.json()).toMatchObject({ error: { data: { code: "quota_exceeded" } } });
    }
    expect(await memoryCount(tenant.id)).toBe(2);
    expect(await toolCalls(tenant.id)).toBe(10_000);
  });

  it("does not charge calls the protocol layer refuses, and charges the one that runs", async () => {
    const { tenant, apiKey } = await newTenant("free");
    const args = { content: "never saved" };
    const refusals: [Response, number][] = [
      [await modernCall(apiKey.key, "remember", args, { "mcp-method": "" }), 400],
      [await modernCall(apiKey.key, "remember", args, { "mcp-protocol-version": "1999-01-01" }), 400],
      // A 2025-era call without a session, refused by the transport for its Accept header.
      [
        await post(
          apiKey.key,
          { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "remember", arguments: args } },
          { accept: "text/html" },
        ),
        406,
      ],
    ];
    for (const [response, status] of refusals) expect(response.status).toBe(status);
    const nullArgs = await modernCall(apiKey.key, "remember", null);
    expect(await nullArgs.json()).toMatchObject({ error: { code: -32602 } });
    const invalid = await modernCall(apiKey.key, "remember", { content: 42 });
    expect(await invalid.json()).toMatchObject({ result: { isError: true } });
    expect(await toolCalls(tenant.id)).toBe(0);
    expect(await memoryCount(tenant.id)).toBe(0);

    expect((await modernCall(apiKey.key, "remember", { content: "saved once" })).status).toBe(200);
    expect(await toolCalls(tenant.id)).toBe(1);
    expect(await memoryCount(tenant.id)).toBe(1);
  });

  it("lets exactly one of five concurrent calls take the quota's last unit", async () => {
    const { tenant, apiKey } = await newTenant("free");
    await useToolCalls(tenant.id, 9_999);
    const responses = await Promise.all(
      Array.from({ length: 5 }, (_, i) => modernCall(apiKey.key, "remember", { content: `race ${i}` })),
    );
    const bodies = (await Promise.all(responses.map((response) => response.json()))) as {
      result?: { isError?: boolean; content: { text: string }[] };
      error?: { data: { code: string } };
    }[];
    const ran = bodies.filter((body) => body.result && !body.result.isError);
    expect(ran).toHaveLength(1);
    for (const body of bodies.filter((b) => !ran.includes(b))) {
      // Refused at admission (429) or, if it passed admission first, by the charge in the dispatch.
      const message = body.error ? body.error.data.code : body.result?.content[0]?.text;
      expect(message).toMatch(/quota_exceeded|Plan quota exceeded/);
    }
    expect(await memoryCount(tenant.id)).toBe(1);
    expect(await toolCalls(tenant.id)).toBe(10_000);
  });
});
