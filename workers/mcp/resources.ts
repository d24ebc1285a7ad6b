import { type McpServer, ResourceNotFoundError, ResourceTemplate, type Variables } from "@modelcontextprotocol/server";
import { PROJECT_SLUG } from "../../shared/memory/model";
import { guarded } from "./failures";
import type { ToolContext } from "./tools/definition";
import { toWire } from "./tools/wire-case";

/**
 * Resources: one memory by id (a template, not listed — there may be
 * millions), and each project's session briefing (listed, one per project).
 * Both only read, so every credential `/mcp` admits (`mcp:read` at least)
 * is shown and may read them all.
 */
export function registerResources(server: McpServer, ctx: ToolContext): void {
  server.registerResource(
    "memory",
    new ResourceTemplate("muninn://memories/{id}", { list: undefined }),
    { title: "Memory", description: "One memory with its versions and links, as JSON.", mimeType: "application/json" },
    guarded(ctx.logger, ctx.tenantId, { resource: "memory" }, async (uri: URL, variables: Variables) => {
      const id = String(variables.id);
      const { memories } = await ctx.memory.get([id]);
      const memory = memories[0];
      if (!memory) throw new ResourceNotFoundError(uri.href);
      return { contents: [{ uri: uri.href, mimeType: "application/json", text: JSON.stringify(toWire(memory)) }] };
    }),
  );

  server.registerResource(
    "project-briefing",
    new ResourceTemplate("muninn://projects/{project}/briefing", {
      list: guarded(ctx.logger, ctx.tenantId, { resource: "project-briefing" }, async () => ({
        resources: (await ctx.memory.projects()).map((project) => ({
          uri: `muninn://projects/${project.slug}/briefing`,
          name: `${project.slug} briefing`,
          title: `Briefing: ${project.name}`,
          mimeType: "text/markdown",
        })),
      })),
    }),
    {
      title: "Project briefing",
      description: "Where work on a project stands: last session, open issues, key memories (Markdown).",
      mimeType: "text/markdown",
    },
    guarded(ctx.logger, ctx.tenantId, { resource: "project-briefing" }, async (uri: URL, variables: Variables) => {
      const project = String(variables.project);
      if (!PROJECT_SLUG.test(project)) throw new ResourceNotFoundError(uri.href);
      const briefing = await ctx.memory.briefing({ project });
      return { contents: [{ uri: uri.href, mimeType: "text/markdown", text: briefing.markdown }] };
    }),
  );
}
