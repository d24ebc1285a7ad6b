/**
 * Numbered schema changes for a Durable Object's SQLite storage — the same
 * discipline as the management and tenant databases' migrations, applied
 * when the object wakes instead of by a tool.
 *
 * The version reached is kept in the object's own `storage_migrations` table.
 * Each migration runs in one synchronous storage transaction together with
 * its version row, so it is applied whole or not at all, exactly once; and
 * because it is synchronous, no request can reach the object half-migrated.
 *
 * Version 1 of every object is the schema it had before versioning existed,
 * written with `IF NOT EXISTS`: objects created by that code already hold the
 * tables and only gain the version row. Every later migration is a plain
 * change (`ALTER TABLE …`) that runs once.
 */
export interface StorageMigration {
  version: number;
  name: string;
  up(sql: SqlStorage): void;
}

const CREATE_TRACKING_TABLE = `CREATE TABLE IF NOT EXISTS storage_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at INTEGER NOT NULL
)`;

/** The highest version applied to this storage, 0 when none. */
export function storageVersion(sql: SqlStorage): number {
  sql.exec(CREATE_TRACKING_TABLE);
  return sql.exec<{ version: number }>("SELECT COALESCE(MAX(version), 0) AS version FROM storage_migrations").one()
    .version;
}

/** Bring an object's storage up to the last of `migrations` (numbered 1..n); returns the versions applied. */
export function migrateStorage(storage: DurableObjectStorage, migrations: readonly StorageMigration[]): number[] {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(`storage migrations must be numbered 1..n in order; found ${migration.version} at ${index + 1}`);
    }
  });
  const from = storageVersion(storage.sql);
  const applied: number[] = [];
  for (const migration of migrations.slice(from)) {
    storage.transactionSync(() => {
      migration.up(storage.sql);
      storage.sql.exec(
        "INSERT INTO storage_migrations (version, name, applied_at) VALUES (?, ?, ?)",
        migration.version,
        migration.name,
        Date.now(),
      );
    });
    applied.push(migration.version);
  }
  return applied;
}
