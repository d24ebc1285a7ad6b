import { DurableObject } from "cloudflare:workers";
import { type Config, readConfig } from "../../shared/config";
import { openDatabase } from "../../shared/db/client";
import { createLogger, describeError } from "../../shared/logging";
import type { Plan } from "../../shared/tenants/tenants";
import { recordUsage } from "../../shared/usage";
import type { AdmitInput, AdmitResult } from "./admission";
import { type RateLimitStatus, TenantLimits, type UsageStatus } from "./limits";
import { SettingsStore, type VersionedSettings } from "./settings";

/** The earliest of the deadlines some module needs waking for, or null when none does. */
export function nextAlarm(...deadlines: (number | null)[]): number | null {
  const pending = deadlines.filter((deadline): deadline is number => deadline !== null);
  return pending.length === 0 ? null : Math.min(...pending);
}

/**
 * One per tenant (`idFromName(tenantId)`): the single strongly consistent
 * place for what must be exact across isolates and colos — MCP sessions,
 * rate-limit buckets and quota counters. State lives in the object's SQLite
 * storage so it survives eviction and deploys.
 */
export class TenantDO extends DurableObject<Env> {
  readonly #config: Config;
  readonly #settings: SettingsStore;
  readonly #limits: TenantLimits;
  /**
   * When counted usage must next be written to the management DB; null while
   * nothing is waiting. Kept in memory only: the alarm it sets is durable, and
   * after an eviction the first request recomputes it.
   */
  #flushDueAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#config = readConfig(env);
    this.#settings = new SettingsStore(ctx.storage.sql);
    this.#limits = new TenantLimits(ctx.storage.sql, this.#config.planLimits);
  }

  ping(): { ok: true } {
    return { ok: true };
  }

  /** See `AdmitInput`: one call per request decides whether it may run. */
  async admit(input: AdmitInput): Promise<AdmitResult> {
    const now = Date.now();
    const settings = this.#settings.getOrAdopt({ tenantId: input.tenant.id, ...input.tenant });
    if (settings.status !== "active") return { admitted: false, reason: "suspended" };
    // Check and count happen above and here without an await in between, so
    // no other request to this tenant can interleave with them.
    const result = this.#limits.admit(settings, input.toolCall === true, now);
    if (this.#flushDueAt === null) {
      this.#flushDueAt = now + this.#config.usageFlushIntervalMs;
      await this.#scheduleAlarm();
    }
    return result;
  }

  /** Apply a management-DB record of the tenant's plan, status and override; returns what is now in force. */
  updateSettings(record: VersionedSettings): VersionedSettings {
    return this.#settings.apply(record);
  }

  /** The live rate-limit window, without counting a request. `record` (if given) is applied first. */
  rateLimitStatus(record?: VersionedSettings): (RateLimitStatus & { plan: Plan }) | null {
    const settings = record ? this.#settings.apply(record) : this.#settings.get();
    return settings ? { plan: settings.plan, ...this.#limits.rateLimit(settings, Date.now()) } : null;
  }

  /** This month's usage and quota, live. `record` (if given) is applied first. */
  usageStatus(record?: VersionedSettings): UsageStatus | null {
    const settings = record ? this.#settings.apply(record) : this.#settings.get();
    return settings ? this.#limits.usage(settings, Date.now()) : null;
  }

  /** Write counted usage to the management DB now; returns how many months were written. */
  async flushUsage(): Promise<number> {
    const written = await this.#flush(Date.now());
    await this.#scheduleAlarm();
    return written;
  }

  override async alarm(): Promise<void> {
    const now = Date.now();
    // Whatever woke the object, pending usage goes out with it: an early
    // flush costs one batched write and saves a wake-up later.
    if (this.#limits.meter.hasUnflushed()) {
      try {
        await this.#flush(now);
      } catch (error) {
        // Counts stay in storage; retry after another interval rather than
        // letting the runtime's alarm retries hammer a database that is down.
        this.#flushDueAt = now + this.#config.usageFlushIntervalMs;
        createLogger({ tenant: this.#settings.get()?.tenantId }).error("usage flush failed", describeError(error));
      }
    }
    await this.#scheduleAlarm();
  }

  async #flush(now: number): Promise<number> {
    const tenantId = this.#settings.get()?.tenantId;
    const meter = this.#limits.meter;
    if (!tenantId || !meter.hasUnflushed()) {
      this.#flushDueAt = null;
      return 0;
    }
    // A client per flush, closed after: flushes are a minute apart, and an
    // idle client kept open would hold the object's I/O (and its eviction) up.
    const mgmt = openDatabase(this.#config.mgmtDb, this.#config.dbTimeoutMs);
    try {
      const written = await meter.flush((rows) => recordUsage(mgmt, tenantId, rows), now);
      this.#flushDueAt = meter.hasUnflushed() ? now + this.#config.usageFlushIntervalMs : null;
      return written;
    } finally {
      mgmt.close();
    }
  }

  /** The object has one alarm: set it to the earliest deadline any module has, or clear it when none has. */
  async #scheduleAlarm(): Promise<void> {
    const next = nextAlarm(this.#flushDueAt);
    const current = await this.ctx.storage.getAlarm();
    if (next === null) {
      if (current !== null) await this.ctx.storage.deleteAlarm();
    } else if (current === null || next < current || current < Date.now()) {
      await this.ctx.storage.setAlarm(next);
    }
  }
}
