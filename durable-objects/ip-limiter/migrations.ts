import type { StorageMigration } from "../storage-migrations";

/** `IpLimiterDO` storage, numbered; version 1 is the schema as it was before versioning. */
export const ipLimiterStorageMigrations: readonly StorageMigration[] = [
  {
    version: 1,
    name: "rate-limit slots",
    up(sql) {
      sql.exec("CREATE TABLE IF NOT EXISTS ip_rate_limit_slots (slot INTEGER PRIMARY KEY, count INTEGER NOT NULL)");
    },
  },
];
