import type { Tool } from "./definition";
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
export const TOOLS: readonly Tool[] = [
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
];

const writers = new Set(TOOLS.filter((tool) => tool.annotations.readOnlyHint !== true).map((tool) => tool.name));

/** Whether calling `name` can change memory: every tool not annotated read-only. Unknown names change nothing. */
export function isWriteTool(name: string): boolean {
  return writers.has(name);
}

const byName = new Map(TOOLS.map((tool) => [tool.name, tool]));

/** The tool called `name`, or undefined for a name no tool has. */
export function toolNamed(name: string): Tool | undefined {
  return byName.get(name);
}
