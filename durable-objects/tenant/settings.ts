import type { Plan, TenantStatus } from "../../shared/tenants/tenants";

/**
 * The Durable Object's own copy of what admission depends on. The management
 * DB is the record; this copy is what makes a change take effect on the very
 * next request. The Worker's view comes from a credential cache that may be a
 * minute old, so once the DO holds settings they win, and the admin API
 * pushes every change here (`TenantDO.updateSettings`) right after writing it.
 * Until the first push or request, the DO adopts what the Worker passes.
 *
 * A push carries the record's `updated_at`, and an older record never
 * replaces a newer one, so a slow push (or a read that re-applies the record
 * it just read) cannot undo a change that already arrived. A copy adopted
 * from the Worker has no version and yields to any record.
 */
export interface TenantSettings {
  tenantId: string;
  plan: Plan;
  status: TenantStatus;
  rateLimitOverride: number | null;
  /** While a payment is failing: when the paid plan's grace period ends (responses carry a warning). */
  graceEndsAt?: string | null;
}

export interface VersionedSettings extends TenantSettings {
  /** `tenants.updated_at` of the record these settings come from; null when adopted from a request. */
  recordUpdatedAt: string | null;
}

type Row = {
  tenant_id: string;
  plan: Plan;
  status: TenantStatus;
  rate_limit_override: number | null;
  record_updated_at: string | null;
  grace_ends_at: string | null;
};

export class SettingsStore {
  readonly #sql: SqlStorage;
  #cached: VersionedSettings | null;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS tenant_settings (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      tenant_id TEXT NOT NULL,
      plan TEXT NOT NULL,
      status TEXT NOT NULL,
      rate_limit_override INTEGER,
      record_updated_at TEXT,
      grace_ends_at TEXT
    )`);
    // Objects created before billing have the table without the grace column.
    const columns = sql.exec<{ name: string }>("PRAGMA table_info(tenant_settings)").toArray();
    if (!columns.some((column) => column.name === "grace_ends_at")) {
      sql.exec("ALTER TABLE tenant_settings ADD COLUMN grace_ends_at TEXT");
    }
    const row = sql.exec<Row>("SELECT * FROM tenant_settings WHERE id = 1").toArray()[0];
    this.#cached = row
      ? {
          tenantId: row.tenant_id,
          plan: row.plan,
          status: row.status,
          rateLimitOverride: row.rate_limit_override,
          recordUpdatedAt: row.record_updated_at,
          graceEndsAt: row.grace_ends_at,
        }
      : null;
  }

  get(): VersionedSettings | null {
    return this.#cached;
  }

  /** The settings in force: the stored copy, or the Worker's view adopted as the first copy. */
  getOrAdopt(fromRequest: TenantSettings): VersionedSettings {
    return this.#cached ?? this.#write({ ...fromRequest, recordUpdatedAt: null });
  }

  /** Apply a management-DB record unless the copy held is from a newer one. Returns the settings in force. */
  apply(record: VersionedSettings): VersionedSettings {
    const held = this.#cached?.recordUpdatedAt;
    if (held && record.recordUpdatedAt && held > record.recordUpdatedAt) return this.#cached as VersionedSettings;
    return this.#write(record);
  }

  #write(settings: VersionedSettings): VersionedSettings {
    this.#sql.exec(
      `INSERT INTO tenant_settings (id, tenant_id, plan, status, rate_limit_override, record_updated_at, grace_ends_at)
       VALUES (1, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET tenant_id = excluded.tenant_id, plan = excluded.plan, status = excluded.status,
         rate_limit_override = excluded.rate_limit_override, record_updated_at = excluded.record_updated_at,
         grace_ends_at = excluded.grace_ends_at`,
      settings.tenantId,
      settings.plan,
      settings.status,
      settings.rateLimitOverride,
      settings.recordUpdatedAt,
      settings.graceEndsAt ?? null,
    );
    this.#cached = { ...settings };
    return this.#cached;
  }
}
