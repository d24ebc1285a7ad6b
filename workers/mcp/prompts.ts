import type { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { guarded } from "./failures";
import type { ToolContext } from "./tools/definition";

/** Built once per isolate: a zod object costs more to construct than the rest of a prompt's registration. */
const START_SESSION_ARGS = z.object({
  project: z.string().optional().describe("Project slug; default `default`."),
  task: z.string().optional().describe("What this session is about."),
});

type StartSessionArgs = z.infer<typeof START_SESSION_ARGS>;

/**
 * Prompts whose steps write memory (`start-session` has the assistant call
 * `remember`, `session` and `track`): like write tools, a read-only
 * credential is not shown them, and asking for one anyway is refused with
 * 403 insufficient_scope (workers/mcp/routes.ts).
 */
const WRITE_PROMPTS = new Set(["start-session"]);

export function isWritePrompt(name: string): boolean {
  return WRITE_PROMPTS.has(name);
}

/** The `start-session` prompt: tells an assistant how to use its memory for the work ahead. */
export function registerPrompts(server: McpServer, ctx: ToolContext): void {
  if (!ctx.mayWrite) return;
  server.registerPrompt(
    "start-session",
    {
      title: "Start a session with memory",
      description: "Load the project's briefing and learn when to remember and recall during the session.",
      argsSchema: START_SESSION_ARGS,
    },
    guarded(ctx.logger, ctx.tenantId, { prompt: "start-session" }, ({ project, task }: StartSessionArgs) => {
      const slug = project?.trim() || "default";
      const text = [
        `You have a long-term memory (Muninn) for the project "${slug}".`,
        "",
        `1. Now: call \`context\` with project "${slug}"${task ? ` and task ${JSON.stringify(task)}` : ""}, and read the briefing before anything else.`,
        `2. Call \`session\` with action "start"${task ? ` and goal ${JSON.stringify(task)}` : ""}.`,
        "3. Before changing code or answering about past work, `recall` with the question and the files involved.",
        "4. `remember` right away — not at the end — whenever a decision is made (kind decision), something is learned the hard way (learning), a user preference or convention shows (preference), or a procedure works (procedure). One idea per memory, with a title, tags and files. If `remember` reports a similar memory that says the same, `update` or supersede it instead.",
        "5. `track` problems you find but do not fix now; resolve them when fixed.",
        '6. Before you stop: `session` with action "end", the outcome and concrete next steps.',
        "",
        "Never store secrets (keys, passwords, tokens) in memory.",
      ].join("\n");
      return {
        description: `Start a session on ${slug}`,
        messages: [{ role: "user" as const, content: { type: "text" as const, text } }],
      };
    }),
  );
}
