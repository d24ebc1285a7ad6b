import type { Migration } from "../../db/migrate";

const now = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/** Management DB v1: tenants, their databases, API keys, usage, audit, Stripe events. */
export default {
  version: 1,
  name: "initial",
  statements: [
    `CREATE TABLE tenants (
      id TEXT PRIMARY KEY,
      org_name TEXT NOT NULL,
      owner_email TEXT NOT NULL,
      plan TEXT NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'pro', 'team')),
      status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'deleted')),
      rate_limit_override INTEGER CHECK (rate_limit_override IS NULL OR rate_limit_override > 0),
      api_keys_count INTEGER NOT NULL DEFAULT 0,
      stripe_customer_id TEXT UNIQUE,
      stripe_subscription_id TEXT UNIQUE,
      created_at TEXT NOT NULL DEFAULT (${now}),
      updated_at TEXT NOT NULL DEFAULT (${now})
    )`,
    "CREATE INDEX tenants_owner_email ON tenants (owner_email)",
    `CREATE TABLE tenant_databases (
      tenant_id TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
      name TEXT NOT NULL UNIQUE,
      url TEXT NOT NULL,
      auth_token_encrypted TEXT NOT NULL,
      schema_version INTEGER NOT NULL DEFAULT 0,
      created_at TEXT NOT NULL DEFAULT (${now}),
      updated_at TEXT NOT NULL DEFAULT (${now})
    )`,
    `CREATE TABLE api_keys (
      id TEXT PRIMARY KEY,
      tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
      prefix TEXT NOT NULL,
      key_hash TEXT NOT NULL UNIQUE,
      name TEXT NOT NULL,
      scopes TEXT NOT NULL DEFAULT '["mcp"]',
      created_at TEXT NOT NULL DEFAULT (${now}),
      last_used_at TEXT,
      expires_at TEXT,
      revoked_at TEXT
    )`,
    "CREATE INDEX api_keys_tenant ON api_keys (tenant_id)",
    // The runbook reads tenants.api_keys_count directly; triggers keep it equal
    // to the number of unrevoked keys so it can never drift from api_keys.
    `CREATE TRIGGER api_keys_count_insert AFTER INSERT ON api_keys WHEN NEW.revoked_at IS NULL BEGIN
      UPDATE tenants SET api_keys_count = api_keys_count + 1 WHERE id = NEW.tenant_id;
    END`,
    `CREATE TRIGGER api_keys_count_revoke AFTER UPDATE OF revoked_at ON api_keys
      WHEN OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL BEGIN
      UPDATE tenants SET api_keys_count = api_keys_count - 1 WHERE id = NEW.tenant_id;
    END`,
    `CREATE TRIGGER api_keys_count_delete AFTER DELETE ON api_keys WHEN OLD.revoked_at IS NULL BEGIN
      UPDATE tenants SET api_keys_count = api_keys_count - 1 WHERE id = OLD.tenant_id;
    END`,
    `CREATE TABLE usage (
      tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
      period TEXT NOT NULL,
      tool_calls INTEGER NOT NULL DEFAULT 0,
      requests INTEGER NOT NULL DEFAULT 0,
      updated_at TEXT NOT NULL DEFAULT (${now}),
      PRIMARY KEY (tenant_id, period)
    )`,
    `CREATE TABLE audit_log (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      tenant_id TEXT,
      actor TEXT NOT NULL,
      action TEXT NOT NULL,
      target TEXT,
      metadata TEXT NOT NULL DEFAULT '{}',
      ip TEXT,
      created_at TEXT NOT NULL DEFAULT (${now})
    )`,
    "CREATE INDEX audit_log_tenant_time ON audit_log (tenant_id, created_at)",
    "CREATE INDEX audit_log_action_time ON audit_log (action, created_at)",
    `CREATE TABLE stripe_events (
      event_id TEXT PRIMARY KEY,
      type TEXT NOT NULL,
      created INTEGER NOT NULL,
      received_at TEXT NOT NULL DEFAULT (${now}),
      processed_at TEXT,
      status TEXT NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'processed', 'failed', 'ignored')),
      error TEXT
    )`,
  ],
} satisfies Migration;
