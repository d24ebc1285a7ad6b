import type { StorageMigration } from "../storage-migrations";

/**
 * `TenantDO` storage, numbered. Append a migration to change a table; never
 * edit one that has shipped. Version 1 is the schema as it was before
 * versioning (`IF NOT EXISTS`, so objects that already hold it only record it).
 */
export const tenantStorageMigrations: readonly StorageMigration[] = [
  {
    version: 1,
    name: "settings, usage counters, rate-limit slots and MCP sessions",
    up(sql) {
      sql.exec(`CREATE TABLE IF NOT EXISTS tenant_settings (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        tenant_id TEXT NOT NULL,
        plan TEXT NOT NULL,
        status TEXT NOT NULL,
        rate_limit_override INTEGER,
        record_updated_at TEXT
      )`);
      sql.exec(`CREATE TABLE IF NOT EXISTS usage_counters (
        period TEXT PRIMARY KEY,
        requests INTEGER NOT NULL DEFAULT 0,
        tool_calls INTEGER NOT NULL DEFAULT 0,
        rate_limited INTEGER NOT NULL DEFAULT 0,
        quota_exceeded INTEGER NOT NULL DEFAULT 0,
        version INTEGER NOT NULL DEFAULT 0,
        flushed_version INTEGER NOT NULL DEFAULT 0
      )`);
      sql.exec("CREATE TABLE IF NOT EXISTS rate_limit_slots (slot INTEGER PRIMARY KEY, count INTEGER NOT NULL)");
      sql.exec(`CREATE TABLE IF NOT EXISTS mcp_sessions (
        id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        protocol_version TEXT NOT NULL,
        client_info TEXT,
        log_level TEXT
      )`);
      sql.exec("CREATE INDEX IF NOT EXISTS mcp_sessions_last_seen ON mcp_sessions (last_seen_at)");
      sql.exec("CREATE INDEX IF NOT EXISTS mcp_sessions_created ON mcp_sessions (created_at)");
      sql.exec("CREATE TABLE IF NOT EXISTS mcp_session_events (event TEXT PRIMARY KEY, count INTEGER NOT NULL)");
    },
  },
  {
    version: 2,
    name: "billing grace period in the settings copy",
    up(sql) {
      sql.exec("ALTER TABLE tenant_settings ADD COLUMN grace_ends_at TEXT");
    },
  },
  {
    version: 3,
    name: "tenant database pointer generation and migration state",
    up(sql) {
      sql.exec(`CREATE TABLE tenant_database (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        generation INTEGER,
        migration_id TEXT,
        migrating_since INTEGER,
        drive_migration TEXT
      )`);
    },
  },
  {
    version: 4,
    name: "Stripe-call slots (the per-tenant cap on Checkout and portal sessions)",
    up(sql) {
      sql.exec("CREATE TABLE stripe_call_slots (slot INTEGER PRIMARY KEY, count INTEGER NOT NULL)");
    },
  },
  {
    version: 5,
    name: "admission leases and the version of the terms they are granted under",
    up(sql) {
      sql.exec(`CREATE TABLE admission_leases (
        id TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL,
        slot INTEGER NOT NULL,
        requests INTEGER NOT NULL,
        tool_calls INTEGER NOT NULL
      )`);
      sql.exec("ALTER TABLE tenant_settings ADD COLUMN terms_version INTEGER NOT NULL DEFAULT 0");
    },
  },
  {
    version: 6,
    name: "per-day usage for the console's charts (tool calls by tool, status classes, latency buckets)",
    up(sql) {
      sql.exec(`CREATE TABLE usage_days (
        day TEXT NOT NULL,
        metric TEXT NOT NULL,
        key TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (day, metric, key)
      ) WITHOUT ROWID`);
    },
  },
];
