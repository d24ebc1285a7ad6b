import type { CallToolResult, StandardSchemaWithJSON, ToolAnnotations } from "@modelcontextprotocol/server";
import type { z } from "zod";
import type { Logger } from "../../../shared/logging";
import type { MemoryDoor } from "../../../shared/memory/door";

/** What a tool needs from the request that calls it. Built by the route, never from tool input. */
export interface ToolContext {
  /** The tenant's memory, opened with this request's credential and quota: the only way a tool reads or writes it. */
  memory: MemoryDoor;
  tenantId: string;
  /**
   * Whether the credential may write memory (`mcp:tools`; `mcp:read` may
   * not). Decides what the server lists: a read-only credential is shown
   * only what it may use (docs/mcp.md, "What a credential sees").
   */
  mayWrite: boolean;
  logger: Logger;
  /**
   * Charge this call against the tenant's quota; called by the dispatch
   * right before a tool runs, with the tool's name (counted per day for the
   * console's usage chart). Throws the refusal (an `AppError`).
   */
  chargeToolCall(tool: string): Promise<void>;
  /** Run work after the response (access counters); errors are logged, never surfaced. */
  defer(work: Promise<unknown>): void;
}

export interface ToolDefinition<I extends z.ZodType = z.ZodType, O extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  annotations: ToolAnnotations;
  input: I;
  output: O;
  run(ctx: ToolContext, args: z.output<I>): Promise<z.input<O>>;
  /** The human-readable text block; defaults to the structured result as JSON. */
  text?(result: z.input<O>): string;
}

/** A tool as the server lists and calls it, whatever its argument and result types. */
export interface Tool {
  name: string;
  title: string;
  description: string;
  annotations: ToolAnnotations;
  input: z.ZodType;
  output: z.ZodObject;
  /** Run the tool on arguments the SDK has validated against `input`. */
  call(ctx: ToolContext, args: unknown): Promise<CallToolResult>;
}

/**
 * Ties a tool's argument and result types to its schemas, and erases them
 * behind `call` so every tool fits one list. The SDK has validated the
 * arguments already; parsing them again here yields the typed value without
 * a cast, for microseconds.
 */
export function defineTool<I extends z.ZodType, O extends z.ZodObject>(tool: ToolDefinition<I, O>): Tool {
  const { run, text, ...meta } = tool;
  return {
    ...meta,
    async call(ctx, args) {
      const result = await run(ctx, tool.input.parse(args));
      return toolResult(result, text ? text(result) : JSON.stringify(result));
    },
  };
}

/**
 * A JSON Schema as `tools/list` sends it, kept small (the whole list is read
 * into every client's context): no `$schema` (2020-12 is MCP's default
 * dialect), no `pattern` beside `format: date-time` (zod spells the format
 * out as a 400-character regex; the server validates it either way), and for
 * results neither `additionalProperties` nor `required` (they constrain what
 * the server sends, which clients need not be told: a result field that is
 * absent means "none", see `wire-case`).
 */
function compact(json: unknown, role: "arguments" | "result", root = true): unknown {
  if (Array.isArray(json)) return json.map((item) => compact(item, role, false));
  if (json === null || typeof json !== "object") return json;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    if (root && key === "$schema") continue;
    if (role === "result" && (key === "additionalProperties" || key === "required")) continue;
    if (key === "pattern" && (json as Record<string, unknown>).format === "date-time") continue;
    out[key] = compact(value, role, false);
  }
  return out;
}

/**
 * A schema whose JSON Schema is computed once per isolate (and compacted).
 * The SDK converts schemas for every `tools/list`, and a server instance
 * lives for one request, so without this every listing would pay for the
 * conversion again.
 */
export function withCachedJsonSchema<S extends z.ZodType>(
  schema: S,
  /** Compact the JSON Schema for a tool's arguments or result (see `compact`); as zod answers when omitted. */
  role?: "arguments" | "result",
): StandardSchemaWithJSON<z.input<S>, z.output<S>> {
  const standard = schema["~standard"] as unknown as StandardSchemaWithJSON<z.input<S>, z.output<S>>["~standard"];
  const memo = new Map<string, Record<string, unknown>>();
  const convert =
    (io: "input" | "output") =>
    (options: Parameters<typeof standard.jsonSchema.input>[0]): Record<string, unknown> => {
      const key = `${io}:${options.target}`;
      let json = memo.get(key);
      if (!json) {
        const converted = standard.jsonSchema[io](options);
        json = role ? (compact(converted, role) as Record<string, unknown>) : converted;
        memo.set(key, json);
      }
      return json;
    };
  return { "~standard": { ...standard, jsonSchema: { input: convert("input"), output: convert("output") } } };
}

function toolResult(structured: Record<string, unknown>, text: string): CallToolResult {
  return { content: [{ type: "text", text }], structuredContent: structured };
}

export function toolError(message: string): CallToolResult {
  return { content: [{ type: "text", text: message }], isError: true };
}
