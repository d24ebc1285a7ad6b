import type { Plan, TenantStatus } from "../../shared/plans";

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
      record_updated_at TEXT
    )`);
    const row = sql.exec<Row>("SELECT * FROM tenant_settings WHERE id = 1").toArray()[0];
    this.#cached = row
      ? {
          tenantId: row.tenant_id,
          plan: row.plan,
          status: row.status,
          rateLimitOverride: row.rate_limit_override,
          recordUpdatedAt: row.record_updated_at,
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
    const held = this.#cached;
    if (held?.recordUpdatedAt && record.recordUpdatedAt && held.recordUpdatedAt > record.recordUpdatedAt) return held;
    // Every credential read re-applies its record: skip the write when nothing changed.
    if (held && sameSettings(held, record)) return held;
    return this.#write(record);
  }

  #write(settings: VersionedSettings): VersionedSettings {
    this.#sql.exec(
      `INSERT INTO tenant_settings (id, tenant_id, plan, status, rate_limit_override, record_updated_at)
       VALUES (1, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET tenant_id = excluded.tenant_id, plan = excluded.plan, status = excluded.status,
         rate_limit_override = excluded.rate_limit_override, record_updated_at = excluded.record_updated_at`,
      settings.tenantId,
      settings.plan,
      settings.status,
      settings.rateLimitOverride,
      settings.recordUpdatedAt,
    );
    this.#cached = { ...settings };
    return this.#cached;
  }
}

function sameSettings(a: VersionedSettings, b: VersionedSettings): boolean {
  return (
    a.tenantId === b.tenantId &&
    a.plan === b.plan &&
    a.status === b.status &&
    a.rateLimitOverride === b.rateLimitOverride &&
    a.recordUpdatedAt === b.recordUpdatedAt
  );
}
