import { describe, expect, it } from "vitest";
import { initializeSession, MCP_URL, post } from "./mcp-support";
import { newTenant, workerFetch } from "./support";

/** Headers that differ between any two requests (rate-limit counters, request ids) are not part of the answer. */
function answerHeaders(response: Response): [string, string][] {
  return [...response.headers].filter(([name]) => !/^(x-ratelimit-|ratelimit$|x-request-id$|date$)/.test(name));
}

interface Answer {
  status: number;
  headers: [string, string][];
  body: string;
}

async function answer(response: Promise<Response>): Promise<Answer> {
  const r = await response;
  return { status: r.status, headers: answerHeaders(r), body: await r.text() };
}

/**
 * A `_meta` entry unique to each call makes a request shape the isolate has
 * not answered before, so that call is served by the SDK itself; a repeat of
 * the same shape is served from the kept answer.
 */
function listRequest(id: string | number, nonce: string, meta: Record<string, unknown> = {}) {
  return { jsonrpc: "2.0", id, method: "tools/list", params: { _meta: { ...meta, "test/nonce": nonce } } };
}

const MODERN_META = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientInfo": { name: "list-cache-test", version: "1" },
  "io.modelcontextprotocol/clientCapabilities": {},
};
const MODERN_HEADERS = { "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/list" };

describe("tools/list answered from the isolate's cache", () => {
  for (const era of ["legacy", "modern", "legacy session"] as const) {
    it(`replays byte-for-byte what the SDK answers (${era})`, async () => {
      const { apiKey } = await newTenant();
      const sessionId = era === "legacy session" ? await initializeSession(apiKey.key) : null;
      const meta = era === "modern" ? MODERN_META : {};
      const headers: Record<string, string> =
        era === "modern"
          ? MODERN_HEADERS
          : sessionId
            ? { "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" }
            : {};
      const send = (id: string | number, nonce: string) =>
        answer(post(apiKey.key, listRequest(id, nonce, meta), headers));
      const shape = crypto.randomUUID();

      const first = await send(7, shape); // new shape: the SDK's own answer, kept
      const replayed = await send('list-é"2', shape); // same shape, another id: the kept answer
      const fresh = await send('list-é"2', crypto.randomUUID()); // new shape again: the SDK's own answer
      const again = await send(7, shape);

      expect(first.status).toBe(200);
      expect(JSON.parse(first.body)).toMatchObject({ jsonrpc: "2.0", id: 7, result: { tools: expect.any(Array) } });
      expect(replayed).toEqual(fresh);
      expect(again).toEqual(first);
      if (sessionId) expect(replayed.headers).toContainEqual(["mcp-session-id", sessionId]);
    });
  }

  it("replays gzip-compressed, with the request's id, to a client that takes gzip", async () => {
    const { apiKey } = await newTenant();
    const shape = crypto.randomUUID();
    expect((await post(apiKey.key, listRequest(1, shape))).status).toBe(200); // kept
    for (const id of [2, 'list-é"2', -5, "x".repeat(2000)]) {
      const plain = await post(apiKey.key, listRequest(id, shape), { "accept-encoding": "identity" });
      const compressed = await post(apiKey.key, listRequest(id, shape), { "accept-encoding": "br;q=1, gzip;q=0.8" });
      expect(plain.headers.get("content-encoding")).toBeNull();
      expect(compressed.headers.get("content-encoding")).toBe("gzip");
      expect(compressed.headers.get("vary")).toMatch(/accept-encoding/i);
      expect(compressed.headers.get("x-ratelimit-remaining")).not.toBeNull();
      // The runtime's fetch decodes what it is sent as gzip, checking the CRC-32 and length, so a
      // malformed member fails here; test/node/local-stack.test.ts checks the bytes on the wire.
      const text = await plain.text();
      expect(await compressed.text()).toBe(text);
      expect(JSON.parse(text)).toMatchObject({ jsonrpc: "2.0", id, result: { tools: expect.any(Array) } });
    }
    // gzip refused with q=0 gets the plain answer.
    const refused = await post(apiKey.key, listRequest(3, shape), { "accept-encoding": "gzip;q=0, identity" });
    expect(refused.headers.get("content-encoding")).toBeNull();
    expect(JSON.parse(await refused.text())).toMatchObject({ id: 3 });
  });

  it("goes by what the client offered, not by the Accept-Encoding the platform rewrites", async () => {
    const { apiKey } = await newTenant();
    const shape = crypto.randomUUID();
    expect((await post(apiKey.key, listRequest(1, shape))).status).toBe(200); // kept
    // Cloudflare sends every request on as `br, gzip` and keeps the client's own value in `cf`.
    const asRewritten = (clientAcceptEncoding: string) =>
      workerFetch(MCP_URL, {
        method: "POST",
        headers: {
          authorization: `Bearer ${apiKey.key}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "accept-encoding": "br, gzip",
        },
        body: JSON.stringify(listRequest(2, shape)),
        cf: { clientAcceptEncoding },
      });
    for (const offered of ["", "identity", "deflate"]) {
      const answer = await asRewritten(offered);
      expect(answer.headers.get("content-encoding"), offered).toBeNull();
      expect(JSON.parse(await answer.text())).toMatchObject({ id: 2 });
    }
    expect((await asRewritten("gzip, deflate")).headers.get("content-encoding")).toBe("gzip");
  });

  it("still admits and rate-limits a cached answer, and never meters it as a tool call", async () => {
    const { apiKey } = await newTenant();
    const shape = crypto.randomUUID();
    const first = await post(apiKey.key, listRequest(1, shape));
    const second = await post(apiKey.key, listRequest(2, shape));
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(Number(second.headers.get("x-ratelimit-remaining"))).toBe(
      Number(first.headers.get("x-ratelimit-remaining")) - 1,
    );
  });

  it("answers a malformed tools/list through the SDK, not from the cache", async () => {
    const { apiKey } = await newTenant();
    const shape = crypto.randomUUID();
    expect((await post(apiKey.key, listRequest(1, shape))).status).toBe(200);
    const wrongAccept = await post(apiKey.key, listRequest(2, shape), { accept: "text/html" });
    expect(wrongAccept.status).toBe(406);
  });
});
