import type { Migration } from "../../db/migrate";

/**
 * Tenant DB v6: work sessions say who started and who ended them, in the
 * same attribution JSON as memories (`shared/memory/attribution.ts`, v4):
 * the account, what it came through and the MCP client. NULL for sessions
 * from before this migration ("before attribution").
 */
export default {
  version: 6,
  name: "work-session-attribution",
  statements: [
    "ALTER TABLE work_sessions ADD COLUMN started_by TEXT",
    "ALTER TABLE work_sessions ADD COLUMN ended_by TEXT",
  ],
} satisfies Migration;
