import { z } from "zod";
import { controlMessage, hasRefusedControl, type TextKind } from "../text";
import { FieldError } from "./errors";
import { LIMITS, LINK_RELATIONS, MEMORY_KINDS, PROJECT_SLUG, utf8Bytes } from "./model";

/**
 * The one set of field rules for everything written to memory, whichever
 * door it comes through: the MCP tools build their argument schemas from
 * these (so `tools/list` shows the same limits), and the memory door
 * (`door.ts`) checks every write and every imported record against them.
 * Messages name the limit, because the model or person reading the error
 * has to fix the input from it.
 */

/** Text of one kind and at most `max` characters; control characters refused per `shared/text.ts`. */
function text(kind: TextKind, max: number, min = 0) {
  const bounded = z.string().max(max, { error: `must be at most ${max} characters` });
  return (min > 0 ? bounded.min(min, { error: "must not be empty" }) : bounded).refine(
    (value) => !hasRefusedControl(value, kind),
    { error: controlMessage(kind) },
  );
}

/** A list of non-empty one-line strings, with both limits named in its errors. */
function lineList(itemChars: number, maxItems: number, item: string, items: string) {
  return z
    .array(
      z
        .string()
        .min(1)
        .max(itemChars, { error: `each ${item} must be at most ${itemChars} characters` })
        .refine((value) => !hasRefusedControl(value, "line"), { error: controlMessage("line") }),
    )
    .max(maxItems, { error: `at most ${maxItems} ${items}` });
}

const wholeFrom1To5 = z
  .number()
  .int({ error: "must be a whole number from 1 to 5" })
  .min(1, { error: "must be from 1 to 5" })
  .max(5, { error: "must be from 1 to 5" });

/** Limits of the fields that are not memories' own. */
export const TEXT_LIMITS = {
  sourceChars: 200,
  idempotencyKeyChars: 128,
  issueTextBytes: 32 * 1024,
  projectNameChars: 200,
  goalChars: 2000,
  outcomeChars: 8000,
  nextSteps: 20,
  nextStepChars: 1000,
  /** Versions and links one imported memory may carry. */
  importedVersions: 1000,
  importedLinks: 1000,
} as const;

/**
 * A text bounded in UTF-8 bytes. The character bound beside it is implied by
 * the byte bound (a character is at least one byte) and is there so the JSON
 * Schema a strict client reads carries a limit (`maxLength`) too.
 */
function bytesText(maxBytes: number, label: string) {
  const message = `must be at most ${maxBytes} bytes (${label}) of UTF-8`;
  return z
    .string()
    .max(maxBytes, { error: message })
    .refine((value) => utf8Bytes(value) <= maxBytes, { error: message })
    .refine((value) => !hasRefusedControl(value, "prose"), { error: controlMessage("prose") });
}

/** Each field's rule, bare (no descriptions): the tools add theirs. */
export const FIELDS = {
  content: z
    .string()
    .min(1, { error: "must not be empty" })
    .max(LIMITS.contentBytes, { error: `must be at most ${LIMITS.contentBytes} bytes (32 KiB) of UTF-8` })
    .refine((value) => utf8Bytes(value) <= LIMITS.contentBytes, {
      error: `must be at most ${LIMITS.contentBytes} bytes (32 KiB) of UTF-8`,
    })
    .refine((value) => !hasRefusedControl(value, "prose"), { error: controlMessage("prose") }),
  title: text("line", LIMITS.titleChars),
  project: z.string().regex(PROJECT_SLUG, {
    error: "must be a slug: lowercase letters, digits, '.', '_' or '-', at most 64 characters",
  }),
  kind: z.enum(MEMORY_KINDS),
  tags: lineList(LIMITS.tagChars, LIMITS.tags, "tag", "tags"),
  files: lineList(LIMITS.fileChars, LIMITS.files, "path", "paths"),
  importance: wholeFrom1To5,
  severity: wholeFrom1To5,
  memoryId: text("line", 64, 1),
  idempotencyKey: text("line", TEXT_LIMITS.idempotencyKeyChars, 1),
  source: text("line", TEXT_LIMITS.sourceChars),
  issueText: bytesText(TEXT_LIMITS.issueTextBytes, "32 KiB"),
  projectName: text("line", TEXT_LIMITS.projectNameChars),
  /** An issue's resolution: prose like its description, and never empty. */
  resolution: bytesText(TEXT_LIMITS.issueTextBytes, "32 KiB").min(1, { error: "must not be empty" }),
  goal: text("prose", TEXT_LIMITS.goalChars),
  outcome: text("prose", TEXT_LIMITS.outcomeChars),
  nextSteps: z
    .array(text("prose", TEXT_LIMITS.nextStepChars))
    .max(TEXT_LIMITS.nextSteps, { error: `at most ${TEXT_LIMITS.nextSteps} next steps` }),
  relation: z.enum(LINK_RELATIONS),
};

/** What a tool or a door passes to `remember` (domain names). */
export const newMemoryRule = z.object({
  content: FIELDS.content,
  title: FIELDS.title.optional(),
  kind: FIELDS.kind.optional(),
  project: FIELDS.project.optional(),
  tags: FIELDS.tags.optional(),
  files: FIELDS.files.optional(),
  importance: FIELDS.importance.optional(),
  supersedes: FIELDS.memoryId.optional(),
  idempotencyKey: FIELDS.idempotencyKey.optional(),
  source: FIELDS.source.optional(),
  issue: z.object({ severity: FIELDS.severity }).optional(),
});

export const memoryChangeRule = z.object({
  id: FIELDS.memoryId,
  mode: z.enum(["replace", "append"]).optional(),
  content: FIELDS.content.optional(),
  title: FIELDS.title.nullable().optional(),
  kind: FIELDS.kind.optional(),
  tags: FIELDS.tags.optional(),
  files: FIELDS.files.optional(),
  importance: FIELDS.importance.optional(),
});

export const newIssueRule = z.object({
  project: FIELDS.project.optional(),
  title: text("line", LIMITS.titleChars, 1),
  description: FIELDS.issueText.optional(),
  severity: FIELDS.severity.optional(),
  files: FIELDS.files.optional(),
  tags: FIELDS.tags.optional(),
  source: FIELDS.source.optional(),
});

export const workSessionStartRule = z.object({ project: FIELDS.project.optional(), goal: FIELDS.goal.optional() });

export const workSessionEndRule = z.object({
  id: FIELDS.memoryId.optional(),
  project: FIELDS.project.optional(),
  outcome: FIELDS.outcome.optional(),
  nextSteps: FIELDS.nextSteps.optional(),
  success: z.boolean().optional(),
});

/**
 * Check `value` against a rule; the first problem is a `FieldError` naming
 * the field in the domain's terms (a tool renames it for its wire).
 */
export function checkFields<S extends z.ZodType>(rule: S, value: unknown): z.output<S> {
  const parsed = rule.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.length ? issue.path.join(".") : "input";
  throw new FieldError("invalid_request", field, issue?.message ?? "invalid", "invalid_field");
}

/** The first problem of `value` against `rule` as "field: message", or null when it passes. */
export function fieldProblem(rule: z.ZodType, value: unknown): string | null {
  const parsed = rule.safeParse(value);
  if (parsed.success) return null;
  const issue = parsed.error.issues[0];
  const field = issue?.path.length ? issue.path.join(".") : "record";
  return `${field}: ${issue?.message ?? "invalid"}`;
}
