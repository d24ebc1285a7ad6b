import type { AuthInfo } from "@modelcontextprotocol/server";
import type { Context } from "hono";
import { describeError } from "../../shared/logging";
import { memoryAccessRefusal } from "../../shared/memory/access";
import { chargeToolCall } from "../admission";
import { type ClientNamed, tenantDoor } from "../memory-door";
import type { AppEnv } from "../types";
import { acceptsGzip, type CachedAnswer, cachedToolsList, type ListRequest } from "./list-cache";
import type { ToolContext } from "./tools/definition";

/**
 * What both protocol eras do with a request on `/mcp` once it is admitted:
 * hand it to the SDK as it expects it, with who is calling and what they may
 * use, and send back what comes out with the headers admission set.
 */

/**
 * Send a Response built outside Hono (by the SDK, or a JSON-RPC error)
 * together with the headers set on the context — admission's rate-limit,
 * quota and warning headers. Returning the raw Response would drop them.
 */
export function reply(c: Context<AppEnv>, response: Response): Response {
  return c.newResponse(response.body, response);
}

/** Clients without a stated preference (curl sends `*\/*` or nothing) get what every MCP client accepts. */
export function acceptFor(c: Context<AppEnv>): string {
  const accept = c.req.header("accept");
  return !accept || accept.trim() === "*/*" ? "application/json, text/event-stream" : accept;
}

/** The request as the SDK serves it: the body already read, JSON content type, and the `accept` default. */
export function normalizedRequest(c: Context<AppEnv>, text: string): Request {
  const headers = new Headers(c.req.raw.headers);
  headers.set("content-type", "application/json");
  headers.set("accept", acceptFor(c));
  return new Request(c.req.raw.url, { method: "POST", headers, body: text });
}

/**
 * Who is calling and with what, handed to the SDK's server factory through
 * its own request context (`authInfo` on `handler.fetch`), so nothing about
 * one request lives in module state another could read. The credential's
 * secret is deliberately not passed: tools need the tenant, not the key.
 */
export function authInfoFor(c: Context<AppEnv>, ctx: ToolContext, calling: string | null = null): AuthInfo {
  const auth = c.get("auth");
  return {
    token: auth.keyId ? `api_key:${auth.keyId}` : "oauth_access_token",
    clientId: auth.oauth?.clientId ?? `api_key:${auth.keyId}`,
    scopes: auth.scopes,
    ...(auth.expiresAt !== null && { expiresAt: Math.floor(auth.expiresAt / 1000) }),
    // `calling`: the tool a `tools/call` names, so the server builds only that one (`createMemoryServer`).
    extra: { toolContext: ctx, calling },
  };
}

/**
 * What the tools of this request get: the memory door, opened with the
 * request's credential and the calling client's name (from `initialize` or
 * the request envelope, recorded as a memory's source). Its meter starts
 * with one unit paid: a request carries at most one tool call (batches may
 * not), the dispatch charges it before the tool runs, and only tools write.
 */
export function toolContext(c: Context<AppEnv>, client: ClientNamed | null): ToolContext {
  const { tenantId, scopes } = c.get("auth");
  const logger = c.get("logger");
  return {
    memory: tenantDoor(c, { prepaid: 1, client }),
    tenantId,
    mayWrite: credentialMayWrite(scopes),
    logger,
    chargeToolCall: (tool) => chargeToolCall(c, tool),
    defer: (work) =>
      c.executionCtx.waitUntil(
        work.catch((error: unknown) =>
          logger.warn("deferred memory write failed", { tenant: tenantId, ...describeError(error) }),
        ),
      ),
  };
}

/** Whether a credential with `scopes` may write memory: the memory door's own rule, asked once. */
export function credentialMayWrite(scopes: readonly string[]): boolean {
  return memoryAccessRefusal(scopes, "write", "MCP") === null;
}

/** The kept `tools/list` answer for this request, compressed when the client itself offered gzip; null on a miss. */
export function cachedFor(c: Context<AppEnv>, list: ListRequest): CachedAnswer | null {
  return cachedToolsList(list, acceptsGzip(offeredEncodings(c)));
}

/** Send a kept `tools/list` answer with the headers admission set on the context. */
export function replyCached(c: Context<AppEnv>, answer: CachedAnswer): Response {
  for (const [name, value] of answer.headers) c.header(name, value);
  if (!answer.gzip) return c.body(answer.body, 200);
  c.header("content-encoding", "gzip");
  c.header("vary", "accept-encoding", { append: true });
  const response = c.body(answer.body, 200);
  // "manual": the bytes are already gzip; the runtime must send them as they are, not compress them again.
  return new Response(response.body, { status: response.status, headers: response.headers, encodeBody: "manual" });
}

/**
 * The encodings the client itself offered. Cloudflare rewrites every request's
 * `Accept-Encoding` to `br, gzip` and keeps the client's own value in
 * `cf.clientAcceptEncoding` (empty when it sent none), and wrangler dev does
 * the same; the header is the answer only where no platform rewrote it. Bytes
 * that are already gzip go only to a client that asked for gzip: curl with no
 * `--compressed`, as the runbook uses it, must get plain JSON.
 */
function offeredEncodings(c: Context<AppEnv>): string | undefined {
  const cf = c.req.raw.cf as { clientAcceptEncoding?: string } | undefined;
  return cf?.clientAcceptEncoding ?? c.req.header("accept-encoding");
}
