import { z } from "zod";
import {
  forgetMemories,
  getMemories,
  linkMemories,
  listMemories,
  remember,
  restoreMemories,
  updateMemory,
} from "../../../shared/memory/memories";
import { LIMITS } from "../../../shared/memory/model";
import { recall } from "../../../shared/memory/recall";
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
  project,
  relation,
  similarOut,
  tags,
  title,
  toolArgs,
} from "./schemas";
import { toWire } from "./wire-case";

const memoryFields = {
  content,
  title: title.optional(),
  kind: kind.optional(),
  project: project.optional(),
  tags: tags.optional(),
  files: files.optional(),
  importance: importance.optional(),
  supersedes: memoryId.optional().describe("Id of a memory this one replaces; the old one is kept, marked superseded."),
  idempotency_key: z
    .string()
    .min(1)
    .max(128)
    .optional()
    .describe("Any string unique to this save: repeating the call with the same key returns the first result."),
};

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
  superseded_id: z.string().nullable(),
  similar: z.array(similarOut),
});

export const rememberTool = defineTool({
  name: "remember",
  title: "Remember",
  description:
    "Save a memory (or a batch of up to 50 in `memories`): a decision, learning, fact, preference, procedure, " +
    "note, issue or event worth recalling in a later session. An identical memory already saved in the project " +
    "is not duplicated (its id comes back with deduplicated: true). The answer lists up to 3 similar memories: " +
    "update or supersede them instead of piling up near-duplicates.",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  input: toolArgs({
    ...memoryFields,
    content: content.optional(),
    memories: z
      .array(toolArgs(memoryFields))
      .min(1)
      .max(LIMITS.batch, { error: `at most ${LIMITS.batch} memories per call` })
      .optional()
      .describe(
        "A batch of memories to save together, all or none. Every field (project, tags, idempotency_key, …) " +
          "goes on each item; none may be given at the top level with a batch.",
      ),
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
    const items = args.memories ?? [args as z.output<typeof rememberTool.input> & { content: string }];
    const results = await remember(
      ctx.db,
      items.map((item) => ({
        content: item.content,
        title: item.title,
        kind: item.kind,
        project: item.project,
        tags: item.tags,
        files: item.files,
        importance: item.importance,
        supersedes: item.supersedes,
        idempotencyKey: item.idempotency_key,
        source: ctx.clientName ?? undefined,
      })),
    );
    return {
      saved: results.filter((result) => !result.deduplicated).length,
      deduplicated: results.filter((result) => result.deduplicated).length,
      results: toWire(results) as z.input<typeof rememberResult>[],
    };
  },
});

const hitOut = z.object({
  id: z.string(),
  project: z.string(),
  kind: z.string(),
  title: z.string().nullable(),
  snippet: z.string(),
  rank: z.number(),
  relevance: z.number(),
  tags: z.array(z.string()),
  files: z.array(z.string()),
  importance: z.number(),
  status: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  explain: z
    .object({ signals: z.record(z.string(), z.number()), weights: z.record(z.string(), z.number()) })
    .optional(),
});

export const recallTool = defineTool({
  name: "recall",
  title: "Recall",
  description:
    "Search memories by free text and/or file paths, optionally filtered by kinds, tags, project and time. " +
    "Results are ranked by text relevance (title, then tags, then content) combined with file match, recency, " +
    "importance and use, with snippets and scores. Any text is safe to pass as is. Superseded and forgotten " +
    "memories are left out unless asked for. Use `explain` to see why each result ranked where it did.",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: toolArgs({
    query: z
      .string()
      .max(LIMITS.queryChars, { error: `must be at most ${LIMITS.queryChars} characters` })
      .optional()
      .describe("Free text; any characters."),
    files: files.optional().describe("Paths the work touches; memories about them (or their directories) rank higher."),
    kinds: z.array(kind).max(8).optional(),
    tags: tags.optional(),
    tag_mode: z.enum(["any", "all"]).optional().describe("Whether memories need any (default) or all of the tags."),
    project: project.optional(),
    all_projects: z.boolean().optional().describe("Search every project instead of one."),
    since: isoTime.optional().describe("Only memories created at or after this time."),
    until: isoTime.optional().describe("Only memories created at or before this time."),
    include_superseded: z.boolean().optional(),
    include_forgotten: z.boolean().optional(),
    limit: z.number().int().min(1).max(50, { error: "must be at most 50" }).optional().describe("Default 10."),
    explain: z.boolean().optional().describe("Include each result's per-signal score breakdown."),
  }),
  output: z.object({ results: z.array(hitOut), note: z.string().optional() }),
  async run(ctx, args) {
    const result = await recall(ctx.db, {
      query: args.query,
      files: args.files,
      kinds: args.kinds,
      tags: args.tags,
      tagMode: args.tag_mode,
      project: args.project,
      allProjects: args.all_projects,
      since: args.since,
      until: args.until,
      includeSuperseded: args.include_superseded,
      includeForgotten: args.include_forgotten,
      limit: args.limit,
      explain: args.explain,
    });
    const searched = args.project ?? "default";
    const note =
      result.otherProjects === undefined
        ? result.note
        : result.otherProjects.length > 0
          ? `nothing in project ${searched} matches well enough; ${result.otherProjects.join(", ")} ` +
            `${result.otherProjects.length === 1 ? "has" : "have"} matches: pass all_projects: true (or that project) to search there`
          : `nothing in project ${searched} (nor in any other project) matches well enough`;
    return { results: toWire(result.hits) as z.input<typeof hitOut>[], ...(note && { note }) };
  },
});

const versionOut = z.object({
  version: z.number(),
  title: z.string().nullable(),
  content: z.string(),
  tags: z.array(z.string()),
  files: z.array(z.string()),
  importance: z.number(),
  replaced_at: z.string(),
});
const linkOut = z.object({ from_id: z.string(), to_id: z.string(), relation, created_at: z.string() });

export const getTool = defineTool({
  name: "get",
  title: "Get memories",
  description: "Fetch full memories by id (up to 20), with their version history and links.",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: toolArgs({ ids: memoryIds(LIMITS.getIds) }),
  output: z.object({
    memories: z.array(memoryOut.extend({ versions: z.array(versionOut), links: z.array(linkOut) })),
    not_found: z.array(z.string()),
  }),
  async run(ctx, args) {
    const { memories, notFound } = await getMemories(ctx.db, args.ids);
    return toWire({ memories, notFound }) as never;
  },
});

export const updateTool = defineTool({
  name: "update",
  title: "Update memory",
  description:
    "Change a memory: replace its content (default) or append to it, and/or change title, kind, tags, files or " +
    "importance. The previous state is kept as a version (see `get`).",
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
  output: z.object({ memory: memoryOut }),
  async run(ctx, args) {
    const memory = await updateMemory(ctx.db, {
      id: args.id,
      mode: args.mode,
      content: args.content,
      title: args.title,
      kind: args.kind,
      tags: args.tags,
      files: args.files,
      importance: args.importance,
    });
    return { memory: toWire(memory) as z.input<typeof memoryOut> };
  },
});

export const forgetTool = defineTool({
  name: "forget",
  title: "Forget memories",
  description:
    "Forget memories by id. By default a soft delete: hidden from recall and list, restorable for 30 days with " +
    "`restore`. With hard: true the memory, its search entry and its history are purged for good.",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  input: toolArgs({
    ids: memoryIds(LIMITS.batch),
    hard: z.boolean().optional().describe("Purge permanently instead of a restorable soft delete."),
  }),
  output: z.object({ forgotten: z.array(z.string()), not_found: z.array(z.string()), hard: z.boolean() }),
  async run(ctx, args) {
    const hard = args.hard === true;
    const { forgotten, notFound } = await forgetMemories(ctx.db, args.ids, hard);
    return { forgotten, not_found: notFound, hard };
  },
});

export const restoreTool = defineTool({
  name: "restore",
  title: "Restore memories",
  description: "Undo a soft `forget` (within 30 days).",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: toolArgs({ ids: memoryIds(LIMITS.batch) }),
  output: z.object({ restored: z.array(z.string()), not_restorable: z.array(z.string()) }),
  async run(ctx, args) {
    const { restored, notRestorable } = await restoreMemories(ctx.db, args.ids);
    return { restored, not_restorable: notRestorable };
  },
});

export const listTool = defineTool({
  name: "list",
  title: "List memories",
  description:
    "Browse memories of a project (or all projects), optionally by kind, tag or status, sorted by most recent, " +
    "most important or most used. Pass the returned next_cursor to get the next page.",
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
  output: z.object({ memories: z.array(memoryOut), next_cursor: z.string().nullable() }),
  async run(ctx, args) {
    const page = await listMemories(ctx.db, {
      project: args.project,
      allProjects: args.all_projects,
      kind: args.kind,
      tag: args.tag,
      status: args.status,
      sort: args.sort,
      limit: args.limit,
      cursor: args.cursor,
    });
    return toWire(page) as never;
  },
});

export const linkTool = defineTool({
  name: "link",
  title: "Link memories",
  description:
    "Relate two memories: relates_to, depends_on, contradicts, supersedes or part_of. Links show up in `get`.",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: toolArgs({ from_id: memoryId, to_id: memoryId, relation }),
  output: z.object({ from_id: z.string(), to_id: z.string(), relation, created: z.boolean() }),
  async run(ctx, args) {
    const { created } = await linkMemories(ctx.db, args.from_id, args.to_id, args.relation);
    return { from_id: args.from_id, to_id: args.to_id, relation: args.relation, created };
  },
});
