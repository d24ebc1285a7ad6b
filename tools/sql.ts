/**
 * `npm run sql -- "<SQL>"`: run one statement on the management DB, or with
 * `--tenant <id>` on that tenant's database, and print the rows as JSON.
 * Reads MGMT_DB_URL, MGMT_DB_TOKEN and (for --tenant) DB_TOKEN_ENCRYPTION_KEY
 * from the environment, or else uses the running local stack (see
 * operator-env.ts): the operator's equivalent of the runbook's raw
 * `curl … -d "SELECT …"`, which Turso does not accept.
 */
import { readConfig } from "../shared/config";
import { openDatabase } from "../shared/db/client";
import { getTenantDatabase } from "../shared/tenants/tenants";
import { fail, runOperatorScript } from "./operator-env";

const args = process.argv.slice(2);
const tenantFlag = args.indexOf("--tenant");
const tenantId = tenantFlag >= 0 ? args[tenantFlag + 1] : undefined;
if (tenantFlag >= 0) args.splice(tenantFlag, 2);
const [sql, ...params] = args;
if (!sql || (tenantFlag >= 0 && !tenantId)) fail("sql", 'usage: npm run sql -- [--tenant <id>] "<SQL>" [arg ...]', 2);

await runOperatorScript("sql", ["MGMT_DB_URL", "MGMT_DB_TOKEN"], async ({ env }) => {
  const config = readConfig({
    ADMIN_TOKEN: "-",
    METRICS_TOKEN: "-",
    TURSO_ORG: "-",
    DB_TOKEN_ENCRYPTION_KEY: "-",
    ...env,
  });
  const mgmtDb = openDatabase(config.mgmtDb, config.dbTimeoutMs);
  let db = mgmtDb;
  if (tenantId) {
    const record = await getTenantDatabase(mgmtDb, config, tenantId);
    if (!record) fail("sql", `no tenant database for ${tenantId}`);
    db = openDatabase(record.coordinates, config.dbTimeoutMs);
  }
  // Operator SQL may change data, so it is sent as a write (never repeated).
  const result = await db.execute({ sql, args: params }, "write");
  console.log(JSON.stringify(result.rows, null, 2));
  if (result.rowsAffected > 0 && result.columns.length === 0) console.error(`${result.rowsAffected} row(s) affected`);
});
