import type { Migration } from "../../db/migrate";

/**
 * Tenant DB v1: the database's own record of whom it belongs to, so a
 * misrouted URL or token can be detected before any memory is read.
 */
export default {
  version: 1,
  name: "initial",
  statements: ["CREATE TABLE tenant_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"],
} satisfies Migration;
