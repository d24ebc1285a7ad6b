import { DurableObject } from "cloudflare:workers";
import { DeltaFold, type FoldedChange, type MetricDelta } from "../../shared/metrics/recorder";
import {
  PER_TENANT_METRICS,
  type ShardSeries,
  type ShardSnapshot,
  TENANT_SERIES_TOP,
} from "../../shared/metrics/shards";
import { migrateStorage } from "../storage-migrations";
import { metricsStorageMigrations } from "./migrations";

/** One per-tenant metric's largest series (metric, limit), answered from the `series_tenant_top` index. */
export const TENANT_TOP_SQL = `SELECT series, value, updated_at FROM series
  WHERE metric = ? AND instr(series, 'tenant="') > 0 ORDER BY value DESC LIMIT ?`;

const isTenantSeries = (series: string) => series.includes('tenant="');
/** A series' metric name, as the `metric` column derives it. */
const metricOf = (series: string) => series.split("{", 1)[0];

/** `held` (stored rows by series) with the fold's changes applied: what storage will hold once the fold is written. */
function applyFold(held: Map<string, ShardSeries>, pending: [string, FoldedChange][]): ShardSeries[] {
  const after = new Map(held);
  for (const [series, change] of pending) {
    const row = held.get(series);
    const value = change.op === "set" || !row ? change.value : row.value + change.value;
    after.set(series, { series, value, updatedAt: change.at });
  }
  return [...after.values()];
}

/** How long a shard holds acknowledged flushes in memory before writing them together. */
const PERSIST_MS = 1000;
/** A shard writes at once when this many flushes are waiting, so its memory and what a crash could lose stay bounded. */
export const PERSIST_FLUSHES = 1000;

/**
 * One shard of the metrics aggregator (see `shared/metrics/shards.ts`): the
 * place where the batched deltas of the isolates and tenant objects assigned
 * to it add up. A scrape reads every shard and merges them, so `/metrics`
 * reports the service and not whichever isolate answered.
 */
export class MetricsDO extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrateStorage(ctx.storage, metricsStorageMigrations);
  }

  /** Flushes acknowledged since the last write, folded to one change per series. */
  readonly #pending = new DeltaFold();
  #pendingFlushes = 0;
  /** Whether this instance has already asked for the alarm that writes `#pending`. */
  #alarmSet = false;

  /**
   * Take one flush: folded into the shard's memory at once, written to
   * storage with everything else that arrived within `PERSIST_MS` (on the
   * alarm), or at once when `PERSIST_FLUSHES` are waiting. Every read lays
   * the unwritten fold over storage, so every answer counts every
   * acknowledged flush.
   *
   * Why not a durable write per flush: a commit per flush is what made the
   * shard's latency grow with isolates. With nothing written, 1,000 isolates
   * flushed at the same p50 as 10; with a write per flush (the upserts, or
   * just one row appended to a log, even with `allowUnconfirmed`) the p50 grew
   * 3 to 4×, because the commits queued on the shard (bench/metrics.ts,
   * docs/architecture.md). In production every row written is also billed:
   * folding a second of flushes writes each global series once instead of
   * once per isolate.
   *
   * The price, accepted on purpose: if a shard's process dies (a deploy, a
   * crash) it loses the flushes of at most its last `PERSIST_MS`, the same
   * bound an isolate already accepts for its own unflushed recorder. These
   * are operational counters, not billing: quota and rate limits are counted
   * exactly in the tenant objects. Nothing is counted twice: a failed write
   * throws before the fold is cleared, and it is tried again by the alarm's
   * retry or the next full batch.
   *
   * Nothing here is shared between calls as a promise: an earlier version
   * grouped flushes behind one promise made by the first caller of a group,
   * and workerd dropped the others' continuations when that request ended
   * first ("IoContext dropped queued cross-context actions").
   */
  ingest(deltas: MetricDelta[]): void {
    this.#pending.apply(deltas, Date.now());
    this.#pendingFlushes += 1;
    if (this.#pendingFlushes >= PERSIST_FLUSHES) {
      this.#persist();
      return;
    }
    if (this.#alarmSet) return;
    this.#alarmSet = true;
    // The alarm is stored, so it fires even if nothing else reaches this shard. `allowUnconfirmed`: this flush's
    // answer need not wait for the alarm's commit, which would put a commit back on one flush a second per shard.
    // If the alarm is not stored, the fold is still written by the next full batch, and the next flush asks again.
    this.ctx.storage.setAlarm(Date.now() + PERSIST_MS, { allowUnconfirmed: true }).catch(() => {
      this.#alarmSet = false;
    });
  }

  /** The write that `ingest` scheduled. A throw makes workerd retry the alarm; the fold is kept until a write succeeds. */
  override async alarm(): Promise<void> {
    this.#alarmSet = false;
    this.#persist();
  }

  /**
   * Write the fold in one synchronous transaction, at most two statements,
   * each upserting every `[series, value, at]` row of its kind through
   * `json_each`; the fold is cleared only once the transaction returned.
   */
  #persist(): void {
    if (this.#pending.size === 0) return;
    const upsert = (assign: string, rows: [string, number, number][]) => {
      if (rows.length === 0) return;
      // `WHERE true` keeps SQLite from reading ON CONFLICT as part of the join.
      this.ctx.storage.sql.exec(
        `INSERT INTO series (series, value, updated_at)
         SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?) WHERE true
         ON CONFLICT (series) DO UPDATE SET value = ${assign}, updated_at = excluded.updated_at`,
        JSON.stringify(rows),
      );
    };
    this.ctx.storage.transactionSync(() => {
      upsert("value + excluded.value", this.#pending.rows("add"));
      upsert("excluded.value", this.#pending.rows("set"));
    });
    this.#pending.clear();
    this.#pendingFlushes = 0;
  }

  /** Active legacy MCP sessions of this shard's tenants: the sum of the per-tenant gauges the tenant objects keep current. */
  activeSessions(): number {
    // Series keys sort by name first: `name{` up to `name|` is exactly one metric's series (a primary-key range).
    const [from, to] = ["mcp_tenant_active_sessions{", "mcp_tenant_active_sessions|"];
    const stored = this.ctx.storage.sql
      .exec<{ total: number }>(
        "SELECT COALESCE(SUM(value), 0) AS total FROM series WHERE series >= ? AND series < ?",
        from,
        to,
      )
      .one().total;
    const pending = this.#pending.entries((series) => series >= from && series < to);
    const before = this.#stored(pending.map(([series]) => series));
    let total = stored;
    for (const row of applyFold(before, pending)) total += row.value - (before.get(row.series)?.value ?? 0);
    return total;
  }

  /**
   * Every series, except that each per-tenant metric is cut to its
   * `TENANT_SERIES_TOP` largest values here already, so what a scrape moves
   * and merges does not grow with the number of tenants. The top values are
   * read from the `series_tenant_top` index (its condition repeated so the
   * planner uses it), not sorted from every tenant's series.
   *
   * Reads write nothing: the unwritten fold is laid over what storage holds,
   * so a scrape or a `/health` probe never adds a commit. For a per-tenant
   * metric with k series in the fold, the stored top N + k are read: a fold
   * can only move those k series, so the true top N is among them.
   */
  snapshot(): ShardSnapshot {
    const sql = this.ctx.storage.sql;
    const series = this.#withPending(
      this.#rows(sql.exec(`SELECT series, value, updated_at FROM series WHERE instr(series, 'tenant="') = 0`)),
      this.#pending.entries((key) => !isTenantSeries(key)),
    );
    for (const name of PER_TENANT_METRICS) {
      const pending = this.#pending.entries((key) => isTenantSeries(key) && metricOf(key) === name);
      const top = this.#rows(sql.exec(TENANT_TOP_SQL, name, TENANT_SERIES_TOP + pending.length));
      const merged = this.#withPending(top, pending).sort((a, b) => b.value - a.value);
      series.push(...merged.slice(0, TENANT_SERIES_TOP));
    }
    return { series, activeSessions: this.activeSessions() };
  }

  /** Every series labelled with this tenant, whatever its rank. */
  tenantSeries(tenantId: string): ShardSeries[] {
    const label = `tenant="${tenantId}"`;
    const pattern = `%${label.replace(/[\\%_"]/g, (char) => `\\${char}`)}%`;
    return this.#withPending(
      this.#rows(
        this.ctx.storage.sql.exec(
          "SELECT series, value, updated_at FROM series WHERE series LIKE ? ESCAPE '\\'",
          pattern,
        ),
      ),
      this.#pending.entries((key) => key.includes(label)),
    );
  }

  /** `rows`, plus the stored rows of `pending`'s other series, with the fold's changes applied. */
  #withPending(rows: ShardSeries[], pending: [string, FoldedChange][]): ShardSeries[] {
    if (pending.length === 0) return rows;
    const held = new Map(rows.map((row) => [row.series, row]));
    const missing = pending.map(([series]) => series).filter((series) => !held.has(series));
    for (const [series, row] of this.#stored(missing)) held.set(series, row);
    return applyFold(held, pending);
  }

  /** The stored rows of these series (those that exist), by series. */
  #stored(series: string[]): Map<string, ShardSeries> {
    if (series.length === 0) return new Map();
    const rows = this.ctx.storage.sql.exec(
      "SELECT series, value, updated_at FROM series WHERE series IN (SELECT value FROM json_each(?))",
      JSON.stringify(series),
    );
    return new Map(this.#rows(rows).map((row) => [row.series, row]));
  }

  #rows(cursor: SqlStorageCursor<Record<string, SqlStorageValue>>): ShardSeries[] {
    return cursor
      .toArray()
      .map((row) => ({ series: String(row.series), value: Number(row.value), updatedAt: Number(row.updated_at) }));
  }
}
