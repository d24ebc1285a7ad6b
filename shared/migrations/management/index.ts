import type { Migration } from "../../db/migrate";
import initial from "./0001-initial";
import usageRefusals from "./0002-usage-refusals";
import billing from "./0003-billing";
import accounts from "./0004-accounts";
import tenantMigrations from "./0005-tenant-migrations";
import consoleTables from "./0006-console";
import teams from "./0007-teams";
import usersWithoutRole from "./0008-users-without-role";

/** Management DB migrations, in order. Add a file per change; never edit an applied one. */
export const managementMigrations: readonly Migration[] = [
  initial,
  usageRefusals,
  billing,
  accounts,
  tenantMigrations,
  consoleTables,
  teams,
  usersWithoutRole,
];
