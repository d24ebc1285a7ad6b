import type { Plan, TenantStatus } from "../../shared/plans";
import type { AdmitInput, TenantSettings, VersionedSettings } from "./contract";

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

  /**
   * The settings a request is decided with, or null when the tenant may not
   * be served. Fail closed: a credential that says the tenant is suspended or
   * deleted is refused even if this copy still holds "active" (an operator
   * may have changed the management DB by hand, without a push). The record
   * the credential was read from is applied, newer wins, so the copy is
   * brought up to date by the next request that reads it. `allowSuspended`
   * (billing routes) also serves a suspended tenant; a deleted one never.
   */
  forRequest(tenant: AdmitInput["tenant"], allowSuspended = false): VersionedSettings | null {
    const fromCredential: VersionedSettings = {
      tenantId: tenant.id,
      plan: tenant.plan,
      status: tenant.status,
      rateLimitOverride: tenant.rateLimitOverride,
      graceEndsAt: tenant.graceEndsAt ?? null,
      recordUpdatedAt: tenant.recordUpdatedAt ?? null,
    };
    const settings = fromCredential.recordUpdatedAt ? this.apply(fromCredential) : this.getOrAdopt(fromCredential);
    const servable = (status: string) => status === "active" || (allowSuspended && status === "suspended");
    return servable(settings.status) && servable(tenant.status) ? settings : null;
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
