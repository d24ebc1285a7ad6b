import { DurableObject } from "cloudflare:workers";
import { type Config, readConfig } from "../../shared/config";
import { openDatabase } from "../../shared/db/client";
import { advanceMove } from "../../shared/lifecycle/move/drive";
import { createLogger, describeError } from "../../shared/logging";
import { MetricsRecorder } from "../../shared/metrics/recorder";
import { shardName, shardOf } from "../../shared/metrics/shards";
import { recordUsage } from "../../shared/usage";
import { migrateStorage } from "../storage-migrations";
import type {
  AdmitInput,
  AdmitResult,
  ChargeResult,
  LeaseInput,
  LeaseResult,
  LeaseReturn,
  MigrationMark,
  RateLimitStatus,
  ReserveResult,
  SessionClosure,
  SessionList,
  SessionRecord,
  UsageStatus,
  VersionedSettings,
} from "./contract";
import { type DayReport, usageDays } from "./daily-usage";
import { DatabaseStateStore } from "./database-state";
import { TenantLimits } from "./limits";
import { tenantStorageMigrations } from "./migrations";
import { nextAlarm } from "./next-alarm";
import { admittedSession, SessionStore } from "./sessions";
import { SettingsStore } from "./settings";

/**
 * One per tenant (`idFromName(tenantId)`): the single strongly consistent
 * place for what must be exact across isolates and colos — MCP sessions,
 * rate-limit buckets and quota counters. State lives in the object's SQLite
 * storage so it survives eviction and deploys.
 */
export class TenantDO extends DurableObject<Env> {
  readonly #config: Config;
  #settings!: SettingsStore;
  #limits!: TenantLimits;
  #sessions!: SessionStore;
  #database!: DatabaseStateStore;
  /** Session metrics waiting to be shipped to the MetricsDO. */
  readonly #metrics = new MetricsRecorder();
  /**
   * When counted usage must next be written to the management DB; null while
   * nothing is waiting. Kept in memory only: the alarm it sets is durable, and
   * after an eviction the first request recomputes it.
   */
  #flushDueAt: number | null = null;
  /** When to retry driving a migration whose slice could not start; in memory like `#flushDueAt`. */
  #migrationRetryAt: number | null = null;
  /** A drive of the migration is under way in this instance (see `#driveMigration`). */
  #drivingNow = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#config = readConfig(env);
    this.#openStorage();
  }

  /** Synchronous, so the object serves nothing until its storage is at the current version. */
  #openStorage(): void {
    const { storage } = this.ctx;
    migrateStorage(storage, tenantStorageMigrations);
    this.#settings = new SettingsStore(storage.sql);
    this.#limits = new TenantLimits(storage.sql, this.#config.planLimits, this.#config.billingStripeCallsPerMinute);
    this.#sessions = new SessionStore(storage.sql, {
      idleMs: this.#config.mcp.sessionIdleTimeoutMs,
      maxLifetimeMs: this.#config.mcp.sessionMaxLifetimeMs,
    });
    this.#database = new DatabaseStateStore(storage.sql);
  }

  /**
   * Account deletion: erase everything this object stores (sessions, counters,
   * settings, migration state) and its alarm, and start again from empty
   * storage, as a brand-new object would. Safe to repeat.
   */
  async eraseStorage(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.#flushDueAt = null;
    this.#migrationRetryAt = null;
    this.#openStorage();
  }

  /** See `AdmitInput`: one call per request decides whether it may run. */
  async admit(input: AdmitInput): Promise<AdmitResult> {
    const now = Date.now();
    const settings = this.#settings.forRequest(input.tenant, input.allowSuspended === true);
    if (!settings) return { admitted: false, reason: "suspended" };
    const database = this.#database.get();
    // Refused before anything is counted: a write that cannot run is not a request the tenant spent.
    if (input.write && database.migration) {
      return { admitted: false, reason: "migrating", retryAfterSeconds: 30, migrationId: database.migration.id };
    }
    let session: SessionRecord | null = null;
    let created: ReturnType<SessionStore["create"]> | null = null;
    if (input.sessionId) {
      const used = this.#sessions.use(input.sessionId, now);
      if (!used.session) {
        if (used.closed) await this.#sessionsChanged(settings.tenantId, [used.closed], 0);
        return { admitted: false, reason: "session_not_found", closed: used.closed };
      }
      session = used.session;
    }
    // Check and count happen above and here without an await in between, so
    // no other request to this tenant can interleave with them.
    const result = this.#limits.admit(
      settings,
      { toolCall: input.toolCall === true, stripeCall: input.stripeCall === true },
      now,
    );
    if (result.admitted && input.initialize) {
      const cap = this.#config.planLimits[settings.plan].sessions;
      created = this.#sessions.create({ ...input.initialize, cap }, now);
      session = created.session;
      result.closedSessions = created.closed;
    }
    if (result.admitted && session) result.session = admittedSession(session, Boolean(input.initialize));
    if (result.admitted) result.database = database;
    if (this.#flushDueAt === null || input.initialize) {
      this.#flushDueAt ??= now + this.#config.usageFlushIntervalMs;
      await this.#scheduleAlarm();
    }
    if (created) await this.#sessionsChanged(settings.tenantId, created.closed, 1);
    return result;
  }

  /**
   * See `LeaseInput`: settle the leases an isolate reports on (and touch the
   * legacy sessions it served from them), then grant it a new budget under
   * the terms now in force (docs/rate-limits.md, "Leases"). Settling comes
   * first and happens even for a suspended tenant, so what was used is
   * counted and what was not goes back.
   */
  async lease(input: LeaseInput): Promise<LeaseResult> {
    const now = Date.now();
    this.#limits.settle(input.settle, input.refused, now);
    const asked = input.session ? [{ id: input.session, seenAt: now }] : [];
    const sessions = this.#sessions.useAll([...(input.sessions ?? []), ...asked], now);
    const settings = this.#settings.forRequest(input.tenant);
    const alive = (id: string) => sessions.alive.some((session) => session.id === id);
    let result: LeaseResult;
    if (!settings) result = { granted: false, refusal: { reason: "suspended" } };
    else if (input.session && !alive(input.session)) {
      const closed = sessions.closed.find((closure) => closure.id === input.session) ?? null;
      result = { granted: false, refusal: { reason: "session_not_found", closed } };
    } else {
      result = this.#limits.lease(settings, input, this.#settings.version(), this.#database.get(), now);
      if (result.granted) result.lease.sessions = sessions.alive.map((session) => admittedSession(session, false));
    }
    this.#flushDueAt ??= now + this.#config.usageFlushIntervalMs;
    await this.#scheduleAlarm();
    if (sessions.closed.length > 0) await this.#sessionsChanged(input.tenant.id, sessions.closed, 0);
    return result;
  }

  /** Settle leases an isolate is done with (it held them to their end): see `lease`. */
  async returnLeases(input: LeaseReturn): Promise<void> {
    const now = Date.now();
    this.#limits.settle(input.settle, input.refused, now);
    const sessions = this.#sessions.useAll(input.sessions ?? [], now);
    this.#flushDueAt ??= now + this.#config.usageFlushIntervalMs;
    await this.#scheduleAlarm();
    if (sessions.closed.length > 0) await this.#sessionsChanged(this.#settings.get()?.tenantId, sessions.closed, 0);
  }

  /**
   * Charge one tool call the protocol layer has accepted and is about to
   * run (see `AdmitInput.toolCall`). Refused for a suspended tenant and once
   * the monthly quota is spent; then the tool does not run.
   */
  async chargeToolCall(tenant: AdmitInput["tenant"]): Promise<ChargeResult> {
    const now = Date.now();
    const settings = this.#settings.forRequest(tenant);
    if (!settings) return { charged: false, reason: "suspended" };
    const result = this.#limits.charge(settings, now);
    if (this.#flushDueAt === null) {
      this.#flushDueAt = now + this.#config.usageFlushIntervalMs;
      await this.#scheduleAlarm();
    }
    return result;
  }

  /** Remember a session's `logging/setLevel`; false when the session is gone. */
  setSessionLogLevel(sessionId: string, level: string): boolean {
    return this.#sessions.setLogLevel(sessionId, level);
  }

  /**
   * End one session: `DELETE /mcp` with its id, or (`rejected`) one whose
   * initialize the protocol layer refused after admission created it.
   * False when there was none.
   */
  async closeSession(sessionId: string, reason: "delete" | "rejected" = "delete"): Promise<boolean> {
    const closed = this.#sessions.close(sessionId, reason);
    if (closed) await this.#sessionsChanged(this.#settings.get()?.tenantId, [{ id: sessionId, reason }], 0);
    return closed;
  }

  /**
   * End all the tenant's sessions (`DELETE /mcp` without an id: reason
   * `delete`), or as an operator (`admin`) optionally only those idle for
   * `idleForMs`. Returns how many were closed.
   */
  async closeSessions(options: { reason: "delete" | "admin"; idleForMs?: number }): Promise<number> {
    const ids = this.#sessions.closeAll(options.reason, Date.now(), options.idleForMs);
    await this.#sessionsChanged(
      this.#settings.get()?.tenantId,
      ids.map((id) => ({ id, reason: options.reason })),
      0,
    );
    return ids.length;
  }

  /** The live sessions, with lifetime counts of creations and closes by reason (the admin API shows both). */
  listSessions(): SessionList {
    return this.#sessions.list();
  }

  /** Apply a management-DB record of the tenant's plan, status and override; returns what is now in force. */
  updateSettings(record: VersionedSettings): VersionedSettings {
    return this.#settings.apply(record);
  }

  /**
   * Count up to `count` tool calls of this month's quota in one step, for
   * the records a memory door's write creates (`shared/memory/access.ts`);
   * answers how many were granted. `record`: the operator's import passes
   * the tenant's settings, since no admission ran for the tenant.
   */
  async reserveToolCalls(count: number, record?: VersionedSettings): Promise<ReserveResult> {
    const settings = record ? this.#settings.apply(record) : this.#settings.get();
    if (!settings) throw new Error("tenant settings unknown: admit a request first");
    const result = this.#limits.reserve(settings, count, Date.now());
    await this.#scheduleFlush();
    return result;
  }

  async releaseToolCalls(count: number): Promise<void> {
    this.#limits.release(count, Date.now());
    await this.#scheduleFlush();
  }

  async #scheduleFlush(): Promise<void> {
    if (this.#flushDueAt !== null) return;
    this.#flushDueAt = Date.now() + this.#config.usageFlushIntervalMs;
    await this.#scheduleAlarm();
  }

  // --- Tenant database migration (shared/lifecycle/move/drive.ts drives it; docs/lifecycle.md) ---

  /**
   * Refuse writes from now on: a migration is copying the tenant's database.
   * Every lease granted from now on says so; answers until when a lease
   * granted before may still admit a write (`MigrationMark`).
   */
  markMigrating(migrationId: string): MigrationMark {
    this.#database.mark(migrationId, Date.now());
    return { leasedUntil: this.#limits.leases.lastExpiry() };
  }

  /** Accept writes again; `generation` (when the pointer was switched) sends every isolate to the new database. */
  releaseMigrating(migrationId: string, generation: number | null): void {
    this.#database.release(migrationId, generation);
  }

  databaseState() {
    return this.#database.get();
  }

  /** Drive `migrationId` from this object's alarm until it completes, fails or is cancelled. */
  async driveMigration(migrationId: string): Promise<void> {
    this.#database.drive(migrationId);
    await this.#scheduleAlarm();
  }

  /** The live rate-limit window, without counting a request. `record` (if given) is applied first. */
  rateLimitStatus(record?: VersionedSettings): RateLimitStatus | null {
    const settings = record ? this.#settings.apply(record) : this.#settings.get();
    return settings ? this.#limits.rateLimit(settings, Date.now()) : null;
  }

  /** This month's usage and quota, live. `record` (if given) is applied first. */
  usageStatus(record?: VersionedSettings): UsageStatus | null {
    const settings = record ? this.#settings.apply(record) : this.#settings.get();
    return settings ? this.#limits.usage(settings, Date.now()) : null;
  }

  /** Per-day usage (daily-usage.ts): adds an isolate's `traffic`; with `days`, answers the console's usage page. */
  usageDays(traffic: DayReport, days = 0) {
    const live = () => ({ status: this.status(), activeSessions: this.#sessions.count() });
    return usageDays(this.ctx.storage.sql, traffic, days, live);
  }

  /** This month's usage and the live rate-limit window together, in one call, without counting a request. */
  status(): { usage: UsageStatus; rateLimit: RateLimitStatus } | null {
    const settings = this.#settings.get();
    if (!settings) return null;
    const now = Date.now();
    return {
      usage: this.#limits.usage(settings, now),
      rateLimit: this.#limits.rateLimit(settings, now),
    };
  }

  override async alarm(): Promise<void> {
    await this.#driveMigration();
    const now = Date.now();
    this.#limits.expireLeases(now);
    const reaped = this.#sessions.reap(now);
    if (reaped.length > 0) {
      const tenant = this.#settings.get()?.tenantId;
      const logger = createLogger({ tenant, component: "mcp-sessions" });
      for (const { id, reason } of reaped) logger.info("mcp session closed", { sessionId: id, reason });
      await this.#sessionsChanged(tenant, reaped, 0);
    }
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

  /**
   * Count session creations and closes and publish the tenant's active-session
   * gauge, shipped to its MetricsDO shard before the call that changed them
   * answers (a failed shipment is kept and sent with the next change).
   *
   * Awaited by every caller, never left to `waitUntil`: in a Durable Object
   * `waitUntil` does not keep the call's context alive, so a shipment
   * finishing after the call had answered would run its continuation (the
   * restore on failure) in a context workerd may already have dropped. A
   * shard takes a flush into memory without a commit, so the wait is one
   * round trip, and only on session changes.
   */
  async #sessionsChanged(tenant: string | undefined, closed: SessionClosure[], created: number): Promise<void> {
    if (created > 0) this.#metrics.inc("mcp_sessions_created_total", {}, created);
    for (const { reason } of closed) this.#metrics.inc("mcp_sessions_closed_total", { reason });
    if (tenant) this.#metrics.set("mcp_tenant_active_sessions", { tenant }, this.#sessions.count());
    const deltas = this.#metrics.drain();
    if (deltas.length === 0) return;
    // A tenant always reports to the same shard, so its gauge lives in one place.
    const aggregator = this.env.METRICS_DO.get(this.env.METRICS_DO.idFromName(shardName(shardOf(tenant ?? ""))));
    try {
      await aggregator.ingest(deltas);
    } catch (error) {
      this.#metrics.restore(deltas);
      this.#metrics.inc("durable_object_errors_total", { object: "metrics", operation: "ingest" });
      createLogger({ tenant, component: "mcp-sessions" }).warn("session metrics not shipped", describeError(error));
    }
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
    const mgmtDb = openDatabase(this.#config.mgmtDb, this.#config.dbTimeoutMs);
    try {
      const written = await meter.flush((rows) => recordUsage(mgmtDb, tenantId, rows), now);
      this.#flushDueAt = meter.hasUnflushed() ? now + this.#config.usageFlushIntervalMs : null;
      return written;
    } finally {
      mgmtDb.close();
    }
  }

  /**
   * One slice of the migration this object drives. An alarm may run for 15
   * minutes; the slice stops well before and the alarm is set again. If the
   * object dies mid-slice the runtime retries the alarm, and every step is
   * safe to repeat. A migration that stopped running (completed, failed,
   * cancelled) is no longer driven.
   */
  async #driveMigration(): Promise<void> {
    const migrationId = this.#database.driving();
    // One drive at a time: a drive waits (for leases to end) and copies across awaits, and an alarm
    // set meanwhile must not start a second one on the same steps.
    if (!migrationId || this.#drivingNow) return;
    this.#drivingNow = true;
    const mgmt = openDatabase(this.#config.mgmtDb, this.#config.dbTimeoutMs);
    try {
      const { done } = await advanceMove(
        {
          mgmt,
          config: this.#config,
          gate: {
            markMigrating: (id) => this.markMigrating(id),
            releaseMigrating: (id, generation) => this.releaseMigrating(id, generation),
          },
        },
        migrationId,
        { deadline: Date.now() + 10 * 60_000 },
      );
      if (done && this.#database.driving() === migrationId) this.#database.drive(null);
    } catch (error) {
      // The record could not even be read (management DB down): try again in a minute.
      createLogger({ tenant: this.#settings.get()?.tenantId }).error("migration not driven", describeError(error));
      this.#migrationRetryAt = Date.now() + 60_000;
      return;
    } finally {
      mgmt.close();
      this.#drivingNow = false;
    }
    this.#migrationRetryAt = null;
  }

  /** The object has one alarm: set it to the earliest deadline any module has, or clear it when none has. */
  async #scheduleAlarm(): Promise<void> {
    const now = Date.now();
    // A flush is due only while counts wait: a deadline left from a call that counted nothing is dropped.
    if (this.#flushDueAt !== null && !this.#limits.meter.hasUnflushed()) this.#flushDueAt = null;
    // A drive under way sets the alarm again when it ends.
    const driving = this.#database.driving() && !this.#drivingNow ? (this.#migrationRetryAt ?? now) : null;
    const leases = this.#limits.leases.nextDeadline();
    const next = nextAlarm(now, this.#flushDueAt, this.#sessions.nextExpiry(), driving, leases);
    const current = await this.ctx.storage.getAlarm();
    if (next === null) {
      if (current !== null) await this.ctx.storage.deleteAlarm();
    } else if (current !== next) {
      // Moved later too, not only earlier: while a tenant is busy each lease
      // call replaces the lease whose deadline the alarm was set for, and an
      // alarm left at that stale deadline would wake the object (and flush
      // usage) every couple of seconds.
      await this.ctx.storage.setAlarm(next);
    }
  }
}
