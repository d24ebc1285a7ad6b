import type { Migration } from "../../db/migrate";
import initial from "./0001-initial";
import memories from "./0002-memories";
import stemmingAndIssues from "./0003-stemming-and-issues";
import attribution from "./0004-attribution";
import projectScopedSearch from "./0005-project-scoped-search";
import workSessionAttribution from "./0006-work-session-attribution";

/** Tenant DB migrations, in order. Every tenant database runs the same list. */
export const tenantMigrations: readonly Migration[] = [
  initial,
  memories,
  stemmingAndIssues,
  attribution,
  projectScopedSearch,
  workSessionAttribution,
];
