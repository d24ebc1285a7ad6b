import type { Migration } from "../../db/migrate";

const now = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/**
 * Management DB v5: moving a tenant to another database.
 *
 * - `tenant_databases.generation` moves each time the tenant's database
 *   pointer is switched; the tenant's Durable Object hands it out with every
 *   admission, so an isolate holding an older pointer notices on its next
 *   request.
 * - `tenant_migrations` is the durable record a migration is driven from:
 *   its step, both databases (tokens encrypted like `tenant_databases`'),
 *   per-table counts and checksums, and when the old database may go.
 *   At most one unfinished migration per tenant.
 */
export default {
  version: 5,
  name: "tenant-migrations",
  statements: [
    "ALTER TABLE tenant_databases ADD COLUMN generation INTEGER NOT NULL DEFAULT 1",
    `CREATE TABLE tenant_migrations (
      id TEXT PRIMARY KEY,
      tenant_id TEXT NOT NULL,
      status TEXT NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'failed', 'completed', 'cancelled', 'finalized')),
      step TEXT NOT NULL DEFAULT 'requested',
      actor TEXT NOT NULL,
      source_name TEXT NOT NULL,
      source_url TEXT NOT NULL,
      source_token_encrypted TEXT NOT NULL,
      source_generation INTEGER NOT NULL,
      target_kind TEXT NOT NULL CHECK (target_kind IN ('group', 'url')),
      target_group TEXT,
      target_name TEXT,
      target_url TEXT,
      target_token_encrypted TEXT,
      tables TEXT NOT NULL DEFAULT '{}',
      error TEXT,
      retain_until TEXT,
      created_at TEXT NOT NULL DEFAULT (${now}),
      updated_at TEXT NOT NULL DEFAULT (${now}),
      completed_at TEXT,
      finalized_at TEXT
    )`,
    "CREATE INDEX tenant_migrations_tenant ON tenant_migrations (tenant_id, created_at)",
    `CREATE UNIQUE INDEX tenant_migrations_one_open ON tenant_migrations (tenant_id)
      WHERE status IN ('running', 'failed')`,
    "CREATE INDEX tenant_migrations_retention ON tenant_migrations (retain_until) WHERE status = 'completed'",
  ],
} satisfies Migration;
