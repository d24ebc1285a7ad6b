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
  {
    version: 2,
    name: "series_tenant_top",
    up(sql) {
      // A scrape keeps each per-tenant metric's largest series only. Without an
      // index it sorted every tenant's series of the shard on every scrape
      // (work growing with tenants); the partial index covers only per-tenant
      // rows, so global series, written by every flush, carry no extra index.
      sql.exec(`ALTER TABLE series ADD COLUMN metric TEXT
        GENERATED ALWAYS AS (substr(series, 1, instr(series || '{', '{') - 1)) VIRTUAL`);
      sql.exec(`CREATE INDEX series_tenant_top ON series (metric, value DESC)
        WHERE instr(series, 'tenant="') > 0`);
    },
  },
];
