import { z } from "zod";
import { AppError } from "../../../shared/errors";
import { FIELDS } from "../../../shared/memory/fields";
import { defineTool } from "./definition";
import { files, memoryId, memorySummary, project, similarOut, tags, title, toolArgs, workSessionOut } from "./schemas";
import { toResult } from "./wire-case";

/** A required field for one action of a multi-action tool, named in the error like a schema failure would. */
function need<T>(value: T | undefined, field: string, action: string): T {
  if (value === undefined) throw new AppError("invalid_request", `${field}: required when action is ${action}`);
  return value;
}

const severity = FIELDS.severity.describe("1 (cosmetic) to 5 (blocking); default 3.");

export const trackTool = defineTool({
  name: "track",
  title: "Track issues",
  description:
    "Tracked issues: `add` one (title, description, severity 1-5, files; returns id and similar), " +
    "`resolve` one with its resolution (returns the issue), or `list` open, resolved or all (returns issues). " +
    "Open issues show in `context`.",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  input: toolArgs({
    action: z.enum(["add", "resolve", "list"]),
    project: project.optional(),
    title: title.optional().describe("add: what is wrong, in a line."),
    description: FIELDS.issueText.optional().describe("add: details, reproduction, hypotheses."),
    severity: severity.optional(),
    files: files.optional(),
    tags: tags.optional(),
    id: memoryId.optional().describe("resolve: the issue's id."),
    resolution: FIELDS.resolution.optional().describe("resolve: what fixed it."),
    state: z.enum(["open", "resolved", "all"]).optional().describe("list: which issues; default open."),
  }),
  output: z.object({
    action: z.enum(["add", "resolve", "list"]),
    id: z.string().optional(),
    deduplicated: z.boolean().optional(),
    similar: z.array(similarOut).optional(),
    issue: memorySummary.optional(),
    issues: z.array(memorySummary).optional(),
  }),
  async run(ctx, args) {
    switch (args.action) {
      case "add": {
        const saved = await ctx.memory.addIssue({
          project: args.project,
          title: need(args.title, "title", "add"),
          description: args.description,
          severity: args.severity,
          files: args.files,
          tags: args.tags,
        });
        return {
          action: "add" as const,
          id: saved.id,
          deduplicated: saved.deduplicated,
          similar: toResult(saved.similar),
        };
      }
      case "resolve": {
        const issue = await ctx.memory.resolveIssue(
          need(args.id, "id", "resolve"),
          need(args.resolution, "resolution", "resolve"),
        );
        return { action: "resolve" as const, id: issue.id, issue: toResult(issue) };
      }
      case "list": {
        const issues = await ctx.memory.issues({ project: args.project, state: args.state });
        return { action: "list" as const, issues: toResult(issues) };
      }
    }
  },
});

/** A memory in a briefing: id, kind, title, clipped text, importance, updated_at (and severity for issues). */
const briefingItem = z.looseObject({ id: z.string(), text: z.string() });

export const contextTool = defineTool({
  name: "context",
  title: "Session briefing",
  description:
    "Call at the start of a session. Returns a briefing within max_tokens: the last work session (next " +
    "steps), memories relevant to the task, open issues, important memories, recent decisions and learnings, each " +
    "item with id, kind, title, text, importance, updated_at; also as Markdown.",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: toolArgs({
    project: project.optional(),
    task: z.string().max(2000).optional().describe("What you are about to work on; adds the most relevant memories."),
    files: files.optional(),
    max_tokens: z
      .number()
      .int()
      .min(100, { error: "must be at least 100" })
      .max(20_000, { error: "must be at most 20000" })
      .optional()
      .describe("Budget for the briefing; default 2000."),
  }),
  output: z.object({
    project: z.string(),
    last_session: z
      .looseObject({ id: z.string(), next_steps: z.array(z.string()) })
      .optional()
      .describe("id, goal, outcome, next_steps, success, started_at, ended_at."),
    relevant: z.array(briefingItem),
    open_issues: z.array(briefingItem),
    important: z.array(briefingItem),
    recent_decisions: z.array(briefingItem),
    recent_learnings: z.array(briefingItem),
    tokens: z.number(),
    truncated: z.boolean(),
    markdown: z.string(),
  }),
  async run(ctx, args) {
    const briefing = await ctx.memory.briefing({
      project: args.project,
      task: args.task,
      files: args.files,
      maxTokens: args.max_tokens,
    });
    return toResult(briefing);
  },
  text: (briefing) => briefing.markdown,
});

export const sessionTool = defineTool({
  name: "session",
  title: "Work session",
  description:
    "Mark a stretch of work: `start` with its goal, `end` with outcome, next steps and success. Returns " +
    "the session. The next `context` starts from its next steps.",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  input: toolArgs({
    action: z.enum(["start", "end"]),
    project: project.optional(),
    goal: FIELDS.goal.optional().describe("start: what this session is for."),
    id: z.string().max(64).optional().describe("end: which session; default the latest open one."),
    outcome: FIELDS.outcome.optional().describe("end: what was done."),
    next_steps: FIELDS.nextSteps.optional(),
    success: z.boolean().optional(),
  }),
  output: z.object({ action: z.enum(["start", "end"]), session: workSessionOut }),
  async run(ctx, args) {
    const session =
      args.action === "start"
        ? await ctx.memory.startWorkSession({ project: args.project, goal: args.goal })
        : await ctx.memory.endWorkSession({
            id: args.id,
            project: args.project,
            outcome: args.outcome,
            nextSteps: args.next_steps,
            success: args.success,
          });
    return { action: args.action, session: toResult(session) };
  },
});

export const projectsTool = defineTool({
  name: "projects",
  title: "Projects",
  description:
    "`list` projects (default) with memory and open-issue counts and last update, `create` one, or " +
    "`rename` one, moving its memories. Returns projects, created or moved.",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  input: toolArgs({
    action: z.enum(["list", "create", "rename"]).optional().describe("Default list."),
    project: project.optional().describe("create/rename: the project's slug."),
    name: FIELDS.projectName.optional().describe("create/rename: a display name."),
    new_slug: project.optional().describe("rename: the new slug."),
  }),
  output: z.object({
    action: z.enum(["list", "create", "rename"]),
    projects: z
      .array(
        z.object({
          slug: z.string(),
          name: z.string(),
          memories: z.number(),
          open_issues: z.number(),
          last_updated_at: z.string().optional(),
        }),
      )
      .optional(),
    created: z.boolean().optional(),
    moved: z.number().optional(),
  }),
  async run(ctx, args) {
    const action = args.action ?? "list";
    if (action === "create") {
      const { created } = await ctx.memory.createProject(need(args.project, "project", "create"), args.name);
      return { action, created };
    }
    if (action === "rename") {
      const { moved } = await ctx.memory.renameProject(
        need(args.project, "project", "rename"),
        need(args.new_slug, "new_slug", "rename"),
        args.name,
      );
      return { action, moved };
    }
    return { action, projects: toResult(await ctx.memory.projects()) };
  },
});
