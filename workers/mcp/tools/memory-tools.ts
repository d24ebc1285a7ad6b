import { z } from "zod";
import { FIELDS } from "../../../shared/memory/fields";
import { LIMITS } from "../../../shared/memory/model";
import { defineTool } from "./definition";
import {
  content,
  files,
  importance,
  isoTime,
  kind,
  memoryId,
  memoryIds,
  memoryOut,
  memorySummary,
  plain,
  project,
  relation,
  similarOut,
  tags,
  title,
  toolArgs,
} from "./schemas";
import { fromWire, toResult } from "./wire-case";

const idempotencyKey = FIELDS.idempotencyKey;
const memoryFields = {
  content,
  title: title.optional(),
  kind: kind.optional(),
  project: project.optional(),
  tags: tags.optional(),
  files: files.optional(),
  importance: importance.optional(),
  supersedes: memoryId.optional().describe("Id of a memory this replaces (kept, marked superseded)."),
  idempotency_key: idempotencyKey.optional().describe("Repeating a save with the same key returns the first result."),
};
/** One memory of a batch: the same fields, described once at the top level. */
const batchItem = toolArgs({
  content: plain.content,
  title: plain.title.optional(),
  kind: plain.kind.optional(),
  project: plain.project.optional(),
  tags: plain.tags.optional(),
  files: plain.files.optional(),
  importance: plain.importance.optional(),
  supersedes: plain.memoryId.optional(),
  idempotency_key: idempotencyKey.optional(),
});

/**
 * Memory fields that may not sit at the top level next to `memories`. Taking
 * them as batch-wide defaults would be guesswork (does a top-level tag add to
 * an item's tags or replace them? one idempotency key for many saves?), and
 * ignoring them loses data silently, so a batch carries every field per item.
 */
const perItemFields = (Object.keys(memoryFields) as (keyof typeof memoryFields)[]).filter((key) => key !== "content");

const rememberResult = z.object({
  id: z.string(),
  deduplicated: z.boolean(),
  superseded_id: z.string().optional(),
  similar: z.array(similarOut),
});

export const rememberTool = defineTool({
  name: "remember",
  title: "Remember",
  description:
    "Save a memory (a decision, learning, fact, preference, procedure, note, issue — opened as a tracked " +
    "issue — or event: conversation turns, in order), or up to 50 in `memories`, all or none. " +
    "Returns per memory its id, deduplicated (an identical memory or idempotency_key existed), " +
    "superseded_id, and similar: memories sharing half their words or more.",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  input: toolArgs({
    ...memoryFields,
    content: content.optional(),
    memories: z
      .array(batchItem)
      .min(1)
      .max(LIMITS.batch, { error: `at most ${LIMITS.batch} memories per call` })
      .optional()
      .describe("Each with a single save's fields (none at the top level)."),
  })
    .refine((args) => (args.content === undefined) !== (args.memories === undefined), {
      error: "give either content (one memory) or memories (a batch), not both and not neither",
      path: ["content"],
    })
    .superRefine((args, ctx) => {
      if (args.memories === undefined) return;
      for (const field of perItemFields) {
        if (args[field] !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: [field],
            message: "cannot be combined with memories; put it on each item",
          });
        }
      }
    }),
  output: z.object({
    saved: z.number().describe("Memories newly saved."),
    deduplicated: z.number().describe("Memories that already existed."),
    results: z.array(rememberResult),
  }),
  async run(ctx, args) {
    const { memories, ...single } = fromWire(args);
    const items = memories ?? (single.content === undefined ? [] : [{ ...single, content: single.content }]);
    const results = await ctx.memory.remember(items);
    return {
      saved: results.filter((result) => !result.deduplicated).length,
      deduplicated: results.filter((result) => result.deduplicated).length,
      results: toResult(results),
    };
  },
});

const hitOut = z.object({
  id: z.string(),
  project: z.string(),
  kind: z.string(),
  title: z.string().optional(),
  snippet: z.string(),
  rank: z.number(),
  relevance: z.number(),
  tags: z.array(z.string()),
  files: z.array(z.string()),
  importance: z.number(),
  status: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  by: z.string().optional().describe("Who wrote it: key or app, and client."),
  explain: z.looseObject({}).optional().describe("Signals and weights."),
});

export const recallTool = defineTool({
  name: "recall",
  title: "Recall",
  description:
    "Search memories by text and/or file paths in every project (current_project's first) or one `project`, " +
    "filtered by kinds, tags and time. Returns results best first, each with its project, rank, relevance (0-1: " +
    "how much of the query it matches; weak matches are left out) and a snippet. Not counted as used; `get` to read.",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: toolArgs({
    query: z
      .string()
      .max(LIMITS.queryChars, { error: `must be at most ${LIMITS.queryChars} characters` })
      .optional()
      .describe("Free text; any characters."),
    files: files.optional().describe("Paths the work touches; their memories rank higher."),
    kinds: z.array(plain.kind).max(8).optional(),
    tags: tags.optional(),
    tag_mode: z.enum(["any", "all"]).optional().describe("Memories need any (default) or all of the tags."),
    project: plain.project.optional().describe("Search only this project."),
    current_project: plain.project
      .optional()
      .describe("Your project: its memories rank first (default: the open work session's)."),
    all_projects: z.boolean().optional().describe("Every project even with `project` (then ranked first)."),
    since: isoTime.optional().describe("Only memories created at or after this time."),
    until: isoTime.optional().describe("Only memories created at or before this time."),
    include_superseded: z.boolean().optional(),
    include_forgotten: z.boolean().optional(),
    limit: z.number().int().min(1).max(50, { error: "must be at most 50" }).optional().describe("Default 10."),
    explain: z.boolean().optional().describe("Add each result's score breakdown."),
  }),
  output: z.object({ results: z.array(hitOut), note: z.string().optional() }),
  async run(ctx, args) {
    const result = await ctx.memory.recall(fromWire(args));
    const searched = args.project;
    const note =
      result.otherProjects === undefined
        ? result.note
        : result.otherProjects.length > 0
          ? `nothing in project ${searched} matches well enough; ${result.otherProjects.join(", ")} ` +
            `${result.otherProjects.length === 1 ? "has" : "have"} matches: leave out project to search every project`
          : `nothing in project ${searched} (nor in any other project) matches well enough`;
    return { results: toResult(result.hits), ...(note && { note }) };
  },
});

/** Earlier states of a memory and its links, named by their core fields to keep `tools/list` short. */
const versionOut = z.looseObject({ version: z.number(), content: z.string() });
const linkOut = z.looseObject({ from_id: z.string(), to_id: z.string(), relation: z.string() });

export const getTool = defineTool({
  name: "get",
  title: "Get memories",
  description:
    "Fetch up to 20 memories by id: each in full with its versions and links, and not_found ids. " +
    "Counts as a use of each memory.",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: toolArgs({ ids: memoryIds(LIMITS.getIds) }),
  output: z.object({
    memories: z.array(
      memoryOut.extend({
        written_by: z.looseObject({}).optional().describe("Who wrote it: account, via (key or app), client."),
        versions: z.array(versionOut).describe("version, title, content, tags, files, importance, replaced_at."),
        links: z.array(linkOut).describe("from_id, to_id, relation, created_at."),
      }),
    ),
    not_found: z.array(z.string()),
  }),
  async run(ctx, args) {
    const { memories, notFound } = await ctx.memory.get(args.ids);
    return toResult({ memories, notFound });
  },
});

export const updateTool = defineTool({
  name: "update",
  title: "Update memory",
  description:
    "Change a memory: replace (default) or append to its content, and/or its title, kind, tags, files or " +
    "importance. The previous state is kept as a version. Returns the memory as changed.",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  input: toolArgs({
    id: memoryId,
    mode: z.enum(["replace", "append"]).optional().describe("How `content` applies; default replace."),
    content: content.optional(),
    title: title.nullable().optional(),
    kind: kind.optional(),
    tags: tags.optional(),
    files: files.optional(),
    importance: importance.optional(),
  }),
  output: z.object({ memory: memorySummary }),
  async run(ctx, args) {
    const memory = await ctx.memory.update(fromWire(args));
    return { memory: toResult(memory) };
  },
});

export const forgetTool = defineTool({
  name: "forget",
  title: "Forget memories",
  description:
    "Forget memories by id: hidden from recall and list, restorable with `restore` for 30 days; hard: true " +
    "purges them for good. Returns forgotten and not_found ids.",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  input: toolArgs({
    ids: memoryIds(LIMITS.batch),
    hard: z.boolean().optional().describe("Purge permanently instead of a restorable soft delete."),
  }),
  output: z.object({ forgotten: z.array(z.string()), not_found: z.array(z.string()), hard: z.boolean() }),
  async run(ctx, args) {
    const hard = args.hard === true;
    const { forgotten, notFound } = await ctx.memory.forget(args.ids, hard);
    return { forgotten, not_found: notFound, hard };
  },
});

export const restoreTool = defineTool({
  name: "restore",
  title: "Restore memories",
  description: "Undo a soft `forget` within 30 days. Returns restored and not_restorable ids.",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: toolArgs({ ids: memoryIds(LIMITS.batch) }),
  output: z.object({ restored: z.array(z.string()), not_restorable: z.array(z.string()) }),
  async run(ctx, args) {
    const { restored, notRestorable } = await ctx.memory.restore(args.ids);
    return { restored, not_restorable: notRestorable };
  },
});

export const listTool = defineTool({
  name: "list",
  title: "List memories",
  description:
    "Browse a project's memories (or all projects'), by kind, tag or status, sorted recent, importance or " +
    "use. Returns a page of memories and next_cursor (absent on the last page).",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: toolArgs({
    project: project.optional(),
    all_projects: z.boolean().optional(),
    kind: kind.optional(),
    tag: z.string().max(64).optional(),
    status: z.enum(["active", "superseded", "forgotten"]).optional().describe("Default active."),
    sort: z.enum(["recent", "importance", "use"]).optional().describe("Default recent."),
    limit: z.number().int().min(1).max(100, { error: "must be at most 100" }).optional().describe("Default 20."),
    cursor: z.string().max(200).optional(),
  }),
  output: z.object({ memories: z.array(memorySummary), next_cursor: z.string().optional() }),
  async run(ctx, args) {
    const page = await ctx.memory.list(fromWire(args));
    return toResult(page);
  },
});

export const linkTool = defineTool({
  name: "link",
  title: "Link memories",
  description:
    "Relate two memories (relates_to, depends_on, contradicts, supersedes, part_of); cites both, counting " +
    "a use of each. Returns created (false if the link existed). Links show in `get`.",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: toolArgs({ from_id: memoryId, to_id: memoryId, relation }),
  output: z.object({ from_id: z.string(), to_id: z.string(), relation, created: z.boolean() }),
  async run(ctx, args) {
    const { created } = await ctx.memory.link(args.from_id, args.to_id, args.relation);
    return { from_id: args.from_id, to_id: args.to_id, relation: args.relation, created };
  },
});
