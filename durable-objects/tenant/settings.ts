import type { Plan, TenantStatus } from "../../shared/plans";
import type { TenantSettings, VersionedSettings } from "./contract";

type Row = {
  tenant_id: string;
  plan: Plan;
  status: TenantStatus;
  rate_limit_override: number | null;
  record_updated_at: string | null;
  grace_ends_at: string | null;
  terms_version: number;
};

/**
 * The object's copy of the tenant's settings (see `TenantSettings` in the
 * contract): one row, mirrored in memory, replaced only by a record at least
 * as new as the one held.
 */
export class SettingsStore {
  readonly #sql: SqlStorage;
  #cached: VersionedSettings | null;
  #version: number;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
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
    this.#version = row?.terms_version ?? 0;
  }

  /** Moves on every change of the settings in force; leases carry it (see `Lease.version`). */
  version(): number {
    return this.#version;
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
      `INSERT INTO tenant_settings
         (id, tenant_id, plan, status, rate_limit_override, record_updated_at, grace_ends_at, terms_version)
       VALUES (1, ?, ?, ?, ?, ?, ?, 1)
       ON CONFLICT (id) DO UPDATE SET tenant_id = excluded.tenant_id, plan = excluded.plan, status = excluded.status,
         rate_limit_override = excluded.rate_limit_override, record_updated_at = excluded.record_updated_at,
         grace_ends_at = excluded.grace_ends_at, terms_version = tenant_settings.terms_version + 1`,
      settings.tenantId,
      settings.plan,
      settings.status,
      settings.rateLimitOverride,
      settings.recordUpdatedAt,
      settings.graceEndsAt ?? null,
    );
    this.#cached = { ...settings };
    this.#version += 1;
    return this.#cached;
  }
}

function sameSettings(a: VersionedSettings, b: VersionedSettings): boolean {
  return (
    a.tenantId === b.tenantId &&
    a.plan === b.plan &&
    a.status === b.status &&
    a.rateLimitOverride === b.rateLimitOverride &&
    (a.graceEndsAt ?? null) === (b.graceEndsAt ?? null) &&
    a.recordUpdatedAt === b.recordUpdatedAt
  );
}
