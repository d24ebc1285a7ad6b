import { z } from "zod";
import { FIELDS } from "../../../shared/memory/fields";
import { LINK_RELATIONS } from "../../../shared/memory/model";

/**
 * Argument and result pieces shared by the tools. Messages name the field's
 * limit, because the model reading a tool error has to fix its call from it.
 */

/**
 * A tool's arguments: an object that refuses keys it does not define,
 * naming them and the ones it takes. A misspelt argument (`querry`) silently
 * dropped would turn a search into an unfiltered listing.
 */
export function toolArgs<S extends z.ZodRawShape>(shape: S) {
  const known = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `unknown argument${issue.keys.length === 1 ? "" : "s"} ${issue.keys.map((key) => `"${key}"`).join(", ")}; this takes ${known}`
        : undefined,
  });
}

/**
 * The memory fields without descriptions, for the items of a `remember`
 * batch: the top-level fields describe them once, and repeating every
 * description per item would only make `tools/list` longer. They are the
 * memory door's own field rules (`shared/memory/fields.ts`), so a tool's
 * schema and what the door accepts cannot drift apart.
 */
export const plain = {
  content: FIELDS.content,
  title: FIELDS.title,
  project: FIELDS.project,
  kind: FIELDS.kind,
  tags: FIELDS.tags,
  files: FIELDS.files,
  importance: FIELDS.importance,
  memoryId: FIELDS.memoryId,
};

export const content = plain.content.describe("The memory itself: any text, including code.");

/**
 * Refuse NUL (U+0000) in every string anywhere in a tool's arguments —
 * content, title, tags, files, idempotency keys, queries — naming the field.
 * SQLite text functions stop at NUL, so a value containing one would be
 * stored or compared cut off, silently. One check over the whole input, so
 * a field added later cannot forget it.
 */
export function refusingNul<S extends z.ZodType>(schema: S): S {
  return schema.superRefine((value, ctx) => {
    for (const path of nulPaths(value, [])) {
      ctx.addIssue({ code: "custom", path, message: "must not contain NUL (U+0000) characters" });
    }
  }) as unknown as S;
}

function nulPaths(value: unknown, path: (string | number)[]): (string | number)[][] {
  if (typeof value === "string") return value.includes("\0") ? [path] : [];
  if (Array.isArray(value)) return value.flatMap((item, index) => nulPaths(item, [...path, index]));
  if (value !== null && typeof value === "object") {
    return Object.entries(value).flatMap(([key, item]) => nulPaths(item, [...path, key]));
  }
  return [];
}

export const title = plain.title.describe("A short headline; weighs most in search.");

export const project = plain.project.describe("Project slug; default `default`.");

export const kind = plain.kind.describe("What sort of memory this is.");

export const tags = plain.tags.describe("Labels (case-insensitive).");

export const files = plain.files.describe("Paths of files or directories in the repository.");

export const importance = plain.importance.describe("1 (trivia) to 5 (must never be forgotten); default 3.");

export const memoryId = plain.memoryId.describe("A memory id (`m_…`).");

export const memoryIds = (max: number) =>
  z
    .array(memoryId)
    .min(1, { error: "must name at least one id" })
    .max(max, { error: `at most ${max} ids per call` });

export const relation = z.enum(LINK_RELATIONS);

const timestamp = z.string();

/** A memory as results show it (snake_case on the wire; fields that are null are left out, see `wire-case`). */
export const memoryOut = z.object({
  id: z.string(),
  project: z.string(),
  kind: z.string(),
  title: z.string().optional(),
  content: z.string(),
  tags: z.array(z.string()),
  files: z.array(z.string()),
  importance: z.number(),
  status: z.string(),
  supersedes: z.string().optional(),
  superseded_by: z.string().optional(),
  source: z.string().optional(),
  version: z.number(),
  issue: z
    .object({
      status: z.string(),
      severity: z.number().optional(),
      resolution: z.string().optional(),
      resolved_at: timestamp.optional(),
    })
    .optional(),
  created_at: timestamp,
  updated_at: timestamp,
  last_accessed_at: timestamp.optional(),
  access_count: z.number(),
  forgotten_at: timestamp.optional(),
});

/**
 * A memory in results that list or return memories (`list`, `update`,
 * `track`): the fields `get` shows minus versions and links. The schema
 * names the core fields only, to keep `tools/list` short; the rest are
 * described in `get`'s result.
 */
export const memorySummary = z
  .looseObject({
    id: z.string(),
    project: z.string(),
    kind: z.string(),
    title: z.string().optional(),
    content: z.string(),
  })
  .describe("As in `get`, minus versions and links.");

export const similarOut = z.object({ id: z.string(), title: z.string().optional(), snippet: z.string() });

export const workSessionOut = z.object({
  id: z.string(),
  project: z.string(),
  goal: z.string().optional(),
  outcome: z.string().optional(),
  next_steps: z.array(z.string()),
  success: z.boolean().optional(),
  started_at: timestamp,
  ended_at: timestamp.optional(),
});

export const isoTime = z.iso.datetime({
  offset: true,
  error: "must be an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z",
});
