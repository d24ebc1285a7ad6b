import type { CallToolResult, classifyInboundRequest } from "@modelcontextprotocol/server";
import type { Context } from "hono";
import type { AppEnv } from "../types";
import { runTool, SCHEMAS, serverInfo } from "./server";
import type { Tool, ToolContext } from "./tools/definition";
import { isWriteTool, toolNamed } from "./tools/registry";

/**
 * A 2026-07-28 `tools/call` served without the SDK's per-request server.
 *
 * Through the SDK a call builds a server, a transport and a protocol
 * instance, and validates the wire request, the envelope and the result with
 * zod on Workers' slow path (no `new Function`); that was about a millisecond
 * of Worker CPU per call (docs/benchmarks/2026-12-07-tool-cpu.md). Here only
 * the happy path is taken: a well-formed single call of a tool this
 * credential is shown, with the standard headers agreeing with the body and
 * arguments its own input schema accepts. It runs the same handler
 * (`runTool`), validates the result against the tool's output schema as the
 * SDK does, and writes the JSON-RPC answer the SDK writes. Everything else
 * returns null and goes to the SDK unchanged, so every protocol error and
 * every argument error stays the SDK's own. The equivalence is pinned by
 * test/worker/mcp-fast-call.test.ts, which sends one corpus both ways.
 */

type Route = ReturnType<typeof classifyInboundRequest>;

/** The only revision this path knows the SDK's answer for; a later one goes to the SDK. */
const REVISION = "2026-07-28";
const ENVELOPE_KEYS = new Set([
  "io.modelcontextprotocol/protocolVersion",
  "io.modelcontextprotocol/clientInfo",
  "io.modelcontextprotocol/clientCapabilities",
]);
const SERVER_INFO_META_KEY = "io.modelcontextprotocol/serverInfo";

let enabled = true;
let served = 0;

/**
 * Whether 2026-era tool calls may take the fast path (they do in
 * production). The differential test turns it off to have the SDK serve the
 * same requests; nothing else should.
 */
export function setFastToolCalls(on: boolean): void {
  enabled = on;
}

/** How many calls this isolate served on the fast path: the differential test checks its corpus took it. */
export function fastToolCallsServed(): number {
  return served;
}

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject =>
  value !== null && typeof value === "object" && !Array.isArray(value);

function hasOnly(object: JsonObject, keys: ReadonlySet<string>): boolean {
  for (const key in object) if (!keys.has(key)) return false;
  return true;
}

const MESSAGE_KEYS = new Set(["jsonrpc", "id", "method", "params"]);
const PARAM_KEYS = new Set(["name", "arguments", "_meta"]);

/** The call to serve, or null when anything about the request is not the plain case the SDK would serve as a result. */
function plainCall(c: Context<AppEnv>, route: Route, mayWrite: boolean) {
  if (route.kind !== "modern" || route.messageKind !== "request" || route.classification.revision !== REVISION) {
    return null;
  }
  // The SDK classified the body (its envelope included) as a modern request; what follows narrows it further.
  const message = route.message as unknown as JsonObject;
  if (!hasOnly(message, MESSAGE_KEYS) || message.jsonrpc !== "2.0" || message.method !== "tools/call") return null;
  const id = message.id;
  if (!(typeof id === "string" || (typeof id === "number" && Number.isSafeInteger(id)))) return null;
  const params = message.params;
  if (!isObject(params) || !hasOnly(params, PARAM_KEYS)) return null;
  const { name, arguments: args, _meta: meta } = params;
  if (typeof name !== "string" || !isObject(args) || !isObject(meta) || !hasOnly(meta, ENVELOPE_KEYS)) return null;
  const tool = toolNamed(name);
  if (!tool || (!mayWrite && isWriteTool(name))) return null;
  // The SDK's standard-header rung: present and equal to the body (any spelling it would decode goes to it).
  const headers = c.req.raw.headers;
  if (
    headers.get("mcp-protocol-version") !== REVISION ||
    headers.get("mcp-method") !== "tools/call" ||
    headers.get("mcp-name") !== name
  ) {
    return null;
  }
  return { id, tool, args };
}

interface StandardResult {
  value?: unknown;
  issues?: readonly { message: string; path?: readonly (PropertyKey | { key: PropertyKey })[] }[];
}

async function validate(schema: unknown, value: unknown): Promise<StandardResult> {
  const standard = (schema as { "~standard": { validate(value: unknown): StandardResult | Promise<StandardResult> } })[
    "~standard"
  ];
  return await standard.validate(value);
}

/** The SDK's rendering of validation issues (its `formatIssue`), for the one error this path must word as it does. */
function issuesText(issues: NonNullable<StandardResult["issues"]>): string {
  return issues
    .map((issue) =>
      issue.path?.length
        ? `${issue.path.map((part) => String(typeof part === "object" ? part.key : part)).join(".")}: ${issue.message}`
        : issue.message,
    )
    .join(", ");
}

/** The SDK's check of a result against the tool's output schema: a mismatch becomes the tool's error result. */
async function checkedResult(tool: Tool, output: unknown, result: CallToolResult): Promise<CallToolResult> {
  if (result.isError) return result;
  const error = (text: string): CallToolResult => ({ content: [{ type: "text", text }], isError: true });
  if (result.structuredContent === undefined) {
    return error(
      `Output validation error: Tool ${tool.name} has an output schema but no structured content was provided`,
    );
  }
  const checked = await validate(output, result.structuredContent);
  if (checked.issues && checked.issues.length > 0) {
    return error(
      `Output validation error: Invalid structured content for tool ${tool.name}: ${issuesText(checked.issues)}`,
    );
  }
  return result;
}

/**
 * Serve the request if it is a plain tool call (see the module comment);
 * null means the SDK must serve it. `ctx` is built only once the call is taken.
 */
export async function fastToolCall(
  c: Context<AppEnv>,
  route: Route,
  mayWrite: boolean,
  version: string,
  context: () => ToolContext,
): Promise<Response | null> {
  if (!enabled) return null;
  const call = plainCall(c, route, mayWrite);
  if (!call) return null;
  const schemas = SCHEMAS.get(call.tool.name);
  if (!schemas) return null;
  const accepted = await validate(schemas.input, call.args);
  if (accepted.issues && accepted.issues.length > 0) return null;
  served += 1;
  const ran = await runTool(context(), call.tool, accepted.value);
  const result = await checkedResult(call.tool, schemas.output, ran);
  // The 2026 encoding of a complete result (the SDK's `encodeResult`): the
  // discriminator, then the server's identity in `_meta` unless already there.
  const identity = serverInfo(version);
  const meta = result._meta;
  const encoded = {
    ...result,
    resultType: (result as { resultType?: unknown }).resultType ?? "complete",
    _meta:
      meta === undefined
        ? { [SERVER_INFO_META_KEY]: identity }
        : isObject(meta) && meta[SERVER_INFO_META_KEY] === undefined
          ? { ...meta, [SERVER_INFO_META_KEY]: identity }
          : meta,
  };
  return Response.json(
    { result: encoded, jsonrpc: "2.0", id: call.id },
    { status: 200, headers: { "Content-Type": "application/json" } },
  );
}
