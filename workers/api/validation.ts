import type { Context } from "hono";
import type { z } from "zod";
import { AppError } from "../../shared/errors";
import { controlMessage, refusedControlPaths } from "../../shared/text";

/**
 * Parse route input with a zod schema; a failure is a 400 naming the field
 * and what was wrong with it, never a stack or the raw input.
 *
 * Every string anywhere in the input — body fields, query parameters, at any
 * depth — is checked for control characters first (`shared/text.ts`): no REST
 * field is prose, so none may hold NUL, a line break or any other control.
 * One check here covers every route that parses its input, including fields
 * added later, the way the MCP tools check all their arguments at once.
 */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const [refused] = refusedControlPaths(input, "line");
  if (refused) {
    const field = refused.length > 0 ? refused.join(".") : "body";
    throw new AppError("invalid_request", `${field}: ${controlMessage("line")}`, { code: "control_character" });
  }
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.length ? issue.path.join(".") : "body";
  throw new AppError("invalid_request", `${field}: ${issue?.message ?? "invalid"}`, { code: "invalid_parameter" });
}

export async function parseJsonBody<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw new AppError("invalid_request", "body: must be a JSON object", { code: "invalid_json" });
  }
  return parseInput(schema, body);
}
