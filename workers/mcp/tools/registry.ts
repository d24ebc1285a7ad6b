import type { ToolDefinition } from "./definition";
import {
  forgetTool,
  getTool,
  linkTool,
  listTool,
  recallTool,
  rememberTool,
  restoreTool,
  updateTool,
} from "./memory-tools";
import { contextTool, projectsTool, sessionTool, trackTool } from "./workflow-tools";

/**
 * Every tool, in the order `tools/list` shows them: the order is part of the
 * interface (clients and prompt caches see it), so it is fixed here rather
 * than left to registration side effects. Names stay within [A-Za-z0-9_.-].
 */
export const TOOLS: readonly ToolDefinition[] = [
  contextTool,
  rememberTool,
  recallTool,
  getTool,
  updateTool,
  forgetTool,
  restoreTool,
  listTool,
  trackTool,
  sessionTool,
  linkTool,
  projectsTool,
] as unknown as ToolDefinition[];

const byName = new Map(TOOLS.map((tool) => [tool.name, tool]));

/** Whether a tool may write to the tenant's database (its `readOnlyHint` is not set): paused while it is migrated. */
export function isWriteTool(name: string | null): boolean {
  const tool = name === null ? undefined : byName.get(name);
  return tool !== undefined && tool.annotations.readOnlyHint !== true;
}
