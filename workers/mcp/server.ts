import { type CallToolResult, McpServer } from "@modelcontextprotocol/server";
import { describeError } from "../../shared/logging";
import { failureMessage } from "./failures";
import { registerPrompts } from "./prompts";
import { registerResources } from "./resources";
import { type Tool, type ToolContext, toolError, withCachedJsonSchema } from "./tools/definition";
import { isWriteTool, TOOLS, toolNamed } from "./tools/registry";
import { refusingNul } from "./tools/schemas";

const INSTRUCTIONS = [
  "Muninn is your long-term memory across sessions and tools.",
  "At the start of a session call `context` (with the task, if known).",
  "`remember` decisions, learnings, facts, preferences and procedures as soon as they are settled — one idea per memory, with a title, tags and the files it concerns.",
  "`recall` before answering questions about the project's past or changing code you have not seen this session.",
  "Use one project slug per repository or workspace: `project` when saving, `current_project` when recalling across projects.",
  "Track problems with `track`, and `session` end with next steps so the next session can pick up.",
].join(" ");

/**
 * JSON Schemas converted once per isolate; server instances live for one
 * request. The 2026-era fast path (workers/mcp/fast-call.ts) validates with
 * the same schema objects the SDK is given here.
 */
export const SCHEMAS = new Map(
  TOOLS.map((tool) => [
    tool.name,
    {
      input: withCachedJsonSchema(refusingNul(tool.input), "arguments"),
      output: withCachedJsonSchema(tool.output, "result"),
    },
  ]),
);

/**
 * A tool call once its arguments are accepted, as both the SDK's server and
 * the fast path run it: charged here, where the call has been accepted, so
 * what is counted is what runs; a failure becomes the tool's error result.
 */
export async function runTool(ctx: ToolContext, tool: Tool, args: unknown): Promise<CallToolResult> {
  try {
    await ctx.chargeToolCall(tool.name);
    return await tool.call(ctx, args);
  } catch (error) {
    return toolError(failureMessage(error, ctx.logger, ctx.tenantId, { tool: tool.name }));
  }
}

/** The server's identity, as `initialize` and every 2026-era result's `_meta` carry it. */
export function serverInfo(version: string) {
  return { name: "muninn", title: "Muninn memory", version };
}

/**
 * The one server definition both protocol eras are served from: a fresh
 * instance per request (the SDK requires it), bound to that request's tenant
 * database through `ctx`.
 *
 * `calling`: the tool a 2026-era `tools/call` names (such a request carries
 * that one message). Only that tool is then built — not the others, the
 * resources or the prompts, which the call cannot reach; building them all
 * was about 3% of a `recall`'s CPU (bench/cpu-profile.ts). A name this
 * credential is not shown builds everything, so the SDK's answer to it is
 * unchanged.
 */
export function createMemoryServer(ctx: ToolContext, version: string, calling?: string | null): McpServer {
  const server = new McpServer(serverInfo(version), {
    // Tool, prompt and resource lists change only with a deploy, and this
    // server sends no notifications (2026-era `subscriptions/listen` is
    // refused), so it must not advertise list_changed: a client would wait
    // for notifications that never come.
    capabilities: {
      logging: {},
      tools: { listChanged: false },
      prompts: { listChanged: false },
      resources: { listChanged: false },
    },
    instructions: INSTRUCTIONS,
    // Definitions change only with a deploy; per-tenant data is never shared.
    // The tool and prompt lists depend on the credential's scopes, so no
    // cache may hand one credential's list to another.
    cacheHints: {
      "tools/list": { ttlMs: 300_000, cacheScope: "private" },
      "prompts/list": { ttlMs: 300_000, cacheScope: "private" },
      "resources/templates/list": { ttlMs: 300_000, cacheScope: "public" },
      "resources/list": { ttlMs: 0, cacheScope: "private" },
      "resources/read": { ttlMs: 0, cacheScope: "private" },
    },
  });
  const shown = (name: string) => ctx.mayWrite || !isWriteTool(name);
  const only = calling && toolNamed(calling) && shown(calling) ? calling : null;
  for (const tool of TOOLS) {
    // A read-only credential is not shown tools it may not call; called
    // anyway, the route refuses them with 403 insufficient_scope.
    if (!shown(tool.name) || (only !== null && tool.name !== only)) continue;
    // SCHEMAS is built from TOOLS above, so every tool has an entry.
    const schemas = SCHEMAS.get(tool.name);
    if (!schemas) throw new Error(`no JSON Schemas cached for tool ${tool.name}`);
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: schemas.input,
        outputSchema: schemas.output,
        annotations: tool.annotations,
      },
      (args: unknown) => runTool(ctx, tool, args),
    );
  }
  if (only === null) {
    registerResources(server, ctx);
    registerPrompts(server, ctx);
  }
  // Protocol-level failures (a refused message, a transport error) are logged
  // with the request id; without this the SDK drops them silently.
  server.server.onerror = (error) =>
    ctx.logger.warn("mcp protocol error", { tenant: ctx.tenantId, ...describeError(error) });
  return server;
}
