import type { Config } from "../config";
import { bindTenantToken } from "../crypto/token-encryption";
import { type Database, openDatabase } from "../db/client";
import { type MigrationResult, migrate } from "../db/migrate";
import { getTenantDatabase } from "../tenants/tenants";
import { managementMigrations } from "./management";
import { tenantMigrations } from "./tenant";

/** Migrate the management DB. */
export function migrateManagementDb(mgmtDb: Database): Promise<MigrationResult> {
  return migrate(mgmtDb, managementMigrations);
}

/**
 * The data step of management schema v3 (no SQL migration: the stored form
 * carries its own version): rewrite every tenant DB token still encrypted in
 * the unbound `v1` form as `v2`, bound to its tenant id. It needs
 * DB_TOKEN_ENCRYPTION_KEY, so it runs in `npm run migrate` (and the local
 * stack's start), not inside a SQL migration. Each row is a compare-and-set
 * on the value read, so a second run, or two at once, rewrite nothing twice.
 * Returns how many rows were rewritten.
 */
export async function bindTenantTokens(mgmt: Database, config: Config): Promise<number> {
  const unbound = await mgmt.execute(
    {
      sql: "SELECT tenant_id, auth_token_encrypted FROM tenant_databases WHERE auth_token_encrypted LIKE 'v1.%'",
      args: [],
    },
    "read",
  );
  let rewritten = 0;
  for (const row of unbound.rows) {
    const tenantId = String(row.tenant_id);
    const stored = String(row.auth_token_encrypted);
    const bound = await bindTenantToken(config.dbTokenEncryptionKey, stored, tenantId);
    const result = await mgmt.execute(
      {
        sql: `UPDATE tenant_databases SET auth_token_encrypted = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
              WHERE tenant_id = ? AND auth_token_encrypted = ?`,
        args: [bound, tenantId, stored],
      },
      "write",
    );
    rewritten += result.rowsAffected;
  }
  return rewritten;
}

/** Migrate one tenant's database and record the version it reached. */
async function migrateTenantDb(mgmtDb: Database, config: Config, tenantId: string): Promise<MigrationResult> {
  const record = await getTenantDatabase(mgmtDb, config, tenantId);
  if (!record) throw new Error(`tenant ${tenantId} has no database`);
  const db = openDatabase(record.coordinates, config.dbTimeoutMs);
  try {
    const result = await migrate(db, tenantMigrations);
    await mgmtDb.execute(
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
const LATEST_TENANT_SCHEMA = tenantMigrations.length;

/** Migrate every tenant DB that is behind, one at a time; report each outcome. */
export async function migrateAllTenantDbs(
  mgmtDb: Database,
  config: Config,
): Promise<{ tenantId: string; result?: MigrationResult; error?: string }[]> {
  const behind = await mgmtDb.execute(
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
      outcomes.push({ tenantId, result: await migrateTenantDb(mgmtDb, config, tenantId) });
    } catch (error) {
      outcomes.push({ tenantId, error: (error as Error).message });
    }
  }
  return outcomes;
}
