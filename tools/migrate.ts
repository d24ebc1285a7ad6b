/**
 * `npm run migrate`: apply pending migrations to the management DB and then
 * to every tenant DB that is behind. Reads the same variables as the Worker
 * (MGMT_DB_URL, MGMT_DB_TOKEN, DB_TOKEN_ENCRYPTION_KEY, TURSO_ORG, ...) from
 * the environment, or else uses the running local stack (see
 * operator-env.ts); run it before deploying a build that needs a new schema.
 */
import { readConfig } from "../shared/config";
import { openDatabase } from "../shared/db/client";
import { bindTenantTokens, migrateAllTenantDbs, migrateManagementDb } from "../shared/migrations/migrate-databases";
import { runOperatorScript } from "./operator-env";

await runOperatorScript("migrate", ["MGMT_DB_URL", "MGMT_DB_TOKEN"], async ({ env }) => {
  const config = readConfig({ ADMIN_TOKEN: "-", METRICS_TOKEN: "-", ...env });
  const mgmtDb = openDatabase(config.mgmtDb, config.dbTimeoutMs);
  const management = await migrateManagementDb(mgmtDb);
  console.log(
    `management DB: v${management.from} -> v${management.to} (applied: ${management.applied.join(", ") || "none"})`,
  );
  console.log(`tenant DB tokens bound to their tenant: ${await bindTenantTokens(mgmtDb, config)} rewritten`);
  const tenants = await migrateAllTenantDbs(mgmtDb, config);
  let failed = 0;
  for (const outcome of tenants) {
    if (outcome.error) failed += 1;
    console.log(
      outcome.error
        ? `tenant ${outcome.tenantId}: FAILED ${outcome.error}`
        : `tenant ${outcome.tenantId}: v${outcome.result?.from} -> v${outcome.result?.to}`,
    );
  }
  console.log(`${tenants.length} tenant DB(s) were behind; ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
});
