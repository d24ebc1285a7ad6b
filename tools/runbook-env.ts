/**
 * `eval "$(npm run -s runbook:env)"`: the variables docs/runbook.md uses,
 * for the local stack started by `npm run dev` (read from .muninn/). In
 * staging or production, export the same names from your secret store.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { workerVars } from "./local-secrets";
import { repoRoot } from "./local-stack";

const stateDir = process.env.MUNINN_STATE_DIR ?? join(repoRoot, ".muninn");
const devFile = join(stateDir, "dev.json");
if (!existsSync(devFile)) {
  console.error("no local stack found: run `npm run dev` first");
  process.exit(1);
}
const dev = JSON.parse(readFileSync(devFile, "utf8"));
const secrets = JSON.parse(readFileSync(join(stateDir, "secrets.json"), "utf8"));
const libsqlUrl = `http://127.0.0.1:${process.env.LIBSQL_PORT ?? 8080}`;
const vars = workerVars(libsqlUrl, secrets);
const exports: Record<string, string> = {
  BASE_URL: dev.baseUrl,
  ADMIN_TOKEN: dev.adminToken,
  METRICS_TOKEN: dev.metricsToken,
  TENANT_ID: dev.tenantId,
  TENANT_API_KEY: dev.apiKey,
  TEST_API_KEY: dev.apiKey,
  TENANT_TOKEN: dev.apiKey,
  OWNER_API_KEY: dev.ownerKey ?? "",
  STRIPE_WEBHOOK_SECRET: dev.stripe?.webhookSecret ?? "",
  MGMT_DB_URL: vars.MGMT_DB_URL ?? "",
  MGMT_DB_TOKEN: vars.MGMT_DB_TOKEN ?? "",
  DB_TOKEN_ENCRYPTION_KEY: vars.DB_TOKEN_ENCRYPTION_KEY ?? "",
  TURSO_ORG: vars.TURSO_ORG ?? "",
};
for (const [name, value] of Object.entries(exports)) console.log(`export ${name}='${value.replace(/'/g, "'\\''")}'`);
