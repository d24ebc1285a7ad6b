import type { CallToolResult, StandardSchemaWithJSON, ToolAnnotations } from "@modelcontextprotocol/server";
import type { z } from "zod";
import type { Database } from "../../../shared/db/client";
import type { Logger } from "../../../shared/logging";

/** What a tool needs from the request that calls it. Built by the route, never from tool input. */
export interface ToolContext {
  db: Database;
  tenantId: string;
  logger: Logger;
  /** The calling client's name (from `initialize` or the request envelope), recorded as a memory's source. */
  clientName: string | null;
  /**
   * Charge this call against the tenant's quota; called by the dispatch
   * right before a tool runs. Throws the refusal (an `AppError`).
   */
  chargeToolCall(): Promise<void>;
  /** Run work after the response (access counters); errors are logged, never surfaced. */
  defer(work: Promise<unknown>): void;
}

export interface ToolDefinition<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
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

/** Keeps each tool's argument and result types tied to its schemas. */
export function defineTool<I extends z.ZodType, O extends z.ZodType>(tool: ToolDefinition<I, O>): ToolDefinition<I, O> {
  return tool;
}

/**
 * A schema whose JSON Schema is computed once per isolate. The SDK converts
 * schemas for every `tools/list`, and a server instance lives for one
 * request, so without this every listing would pay for the conversion again.
 */
export function withCachedJsonSchema<S extends z.ZodType>(schema: S): StandardSchemaWithJSON<z.input<S>, z.output<S>> {
  const standard = schema["~standard"] as unknown as StandardSchemaWithJSON<z.input<S>, z.output<S>>["~standard"];
  const memo = new Map<string, Record<string, unknown>>();
  const convert =
    (io: "input" | "output") =>
    (options: Parameters<typeof standard.jsonSchema.input>[0]): Record<string, unknown> => {
      const key = `${io}:${options.target}`;
      let json = memo.get(key);
      if (!json) {
        json = standard.jsonSchema[io](options);
        memo.set(key, json);
      }
      return json;
    };
  return { "~standard": { ...standard, jsonSchema: { input: convert("input"), output: convert("output") } } };
}

export function toolResult(structured: Record<string, unknown>, text: string): CallToolResult {
  return { content: [{ type: "text", text }], structuredContent: structured };
}

export function toolError(message: string): CallToolResult {
  return { content: [{ type: "text", text: message }], isError: true };
}
