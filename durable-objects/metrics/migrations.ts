import type { StorageMigration } from "../storage-migrations";

/** `MetricsDO` storage, numbered; version 1 is the schema as it was before versioning. */
export const metricsStorageMigrations: readonly StorageMigration[] = [
  {
    version: 1,
    name: "series",
    up(sql) {
      sql.exec(`CREATE TABLE IF NOT EXISTS series (
        series TEXT PRIMARY KEY,
        value REAL NOT NULL,
        updated_at INTEGER NOT NULL
      )`);
    },
  },
];
