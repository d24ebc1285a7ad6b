import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { expect } from "vitest";
import { asTenant, BASE_URL, workerFetch } from "./support";

/** The MCP endpoint as tests reach it. */
export const MCP_URL = `${BASE_URL}/mcp`;

export type Era = "legacy" | "modern";

/** An SDK v2 client on `/mcp`, in the 2025 era (initialize + session) or pinned to 2026-07-28 (stateless). */
export async function connect(key: string, era: Era): Promise<Client> {
  const client = new Client(
    { name: `test-${era}`, version: "1.0.0" },
    era === "modern" ? { versionNegotiation: { mode: { pin: "2026-07-28" } } } : {},
  );
  const transport = new StreamableHTTPClientTransport(new URL(MCP_URL), {
    fetch: workerFetch,
    requestInit: { headers: asTenant(key) },
  });
  await client.connect(transport);
  return client;
}

/** Call a tool that must succeed; returns its structured result. */
export async function callOk<T = Record<string, unknown>>(client: Client, name: string, args: Record<string, unknown>) {
  const result = await client.callTool({ name, arguments: args });
  if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.content)}`);
  expect(result.structuredContent).toBeDefined();
  return result.structuredContent as T;
}

/** Call a tool that must fail; returns its error text. */
export async function callError(client: Client, name: string, args: Record<string, unknown>): Promise<string> {
  const result = await client.callTool({ name, arguments: args });
  expect(result.isError).toBe(true);
  const first = (result.content as { type: string; text: string }[])[0];
  return first?.text ?? "";
}

/** A raw JSON-RPC POST, for the edge cases SDK clients never send. */
export function post(key: string | null, body: unknown, headers: Record<string, string> = {}) {
  return workerFetch(MCP_URL, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...(key && { authorization: `Bearer ${key}` }),
      ...headers,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export const INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw-test", version: "1" } },
};

/** A raw 2025-era initialize; returns the session id the server issued. */
export async function initializeSession(key: string): Promise<string> {
  const response = await post(key, INITIALIZE);
  expect(response.status).toBe(200);
  const id = response.headers.get("mcp-session-id");
  expect(id).toMatch(/^[\x21-\x7e]+$/);
  return id as string;
}

export function sessionPost(key: string, sessionId: string, body: unknown) {
  return post(key, body, { "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" });
}

export const TOOLS_LIST = { jsonrpc: "2.0", id: 2, method: "tools/list", params: {} };
