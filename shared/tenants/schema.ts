import type { Config } from "../config";
import { type Database, openDatabase } from "../db/client";
import { type MigrationResult, migrate } from "../db/migrate";
import { managementMigrations } from "../migrations/management";
import { tenantMigrations } from "../migrations/tenant";
import { getTenantDatabase } from "./tenants";

/** Migrate the management DB. */
export function migrateManagementDb(mgmt: Database): Promise<MigrationResult> {
  return migrate(mgmt, managementMigrations);
}

/** Migrate one tenant's database and record the version it reached. */
export async function migrateTenantDb(mgmt: Database, config: Config, tenantId: string): Promise<MigrationResult> {
  const record = await getTenantDatabase(mgmt, config, tenantId);
  if (!record) throw new Error(`tenant ${tenantId} has no database`);
  const db = openDatabase(record.coordinates, config.dbTimeoutMs);
  try {
    const result = await migrate(db, tenantMigrations);
    await mgmt.execute(
      {
        sql: `UPDATE tenant_databases SET schema_version = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
            WHERE tenant_id = ?`,
        args: [result.to, tenantId],
      },
      "write",
    );
    return result;
  } finally {
    db.close();
  }
}

/** The latest tenant schema version this build knows. */
export const LATEST_TENANT_SCHEMA = tenantMigrations.length;

/** Migrate every tenant DB that is behind, one at a time; report each outcome. */
export async function migrateAllTenantDbs(
  mgmt: Database,
  config: Config,
): Promise<{ tenantId: string; result?: MigrationResult; error?: string }[]> {
  const behind = await mgmt.execute(
    {
      sql: "SELECT tenant_id FROM tenant_databases WHERE schema_version < ? ORDER BY tenant_id",
      args: [LATEST_TENANT_SCHEMA],
    },
    "read",
  );
  const outcomes = [];
  for (const row of behind.rows) {
    const tenantId = String(row.tenant_id);
    try {
      outcomes.push({ tenantId, result: await migrateTenantDb(mgmt, config, tenantId) });
    } catch (error) {
      outcomes.push({ tenantId, error: (error as Error).message });
    }
  }
  return outcomes;
}
