import { DurableObject } from "cloudflare:workers";
import { foldDeltas, type MetricDelta } from "../../shared/metrics/recorder";
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

  /**
   * Apply one flush, durably, before answering: its deltas are written in
   * one synchronous transaction, and the object's output gate holds the
   * answer until that write is on disk (workerd coalesces the commits of
   * writes made while another commit is in flight, so a busy shard does not
   * commit once per flush). A failed write throws, nothing of the flush is
   * applied, and the isolate puts its deltas back to send again: nothing is
   * counted twice or lost.
   *
   * Nothing here is shared between calls: an earlier version grouped flushes
   * behind one promise made by the first caller of a group, so every other
   * caller's answer (and the group's write itself) ran as queued actions of
   * that caller's request, and when that request ended first workerd dropped
   * them ("IoContext dropped queued cross-context actions", seen once in a
   * five-minute soak): the group's flushes were never written.
   */
  ingest(deltas: MetricDelta[]): void {
    this.#write(deltas);
  }

  /**
   * Write a batch in one transaction: its deltas folded (one change per
   * series), then at most two statements, each upserting the whole batch from
   * a JSON object through `json_each`.
   */
  #write(deltas: MetricDelta[]): void {
    const { adds, sets } = foldDeltas(deltas);
    const now = Date.now();
    const upsert = (assign: string, batch: Record<string, number>) => {
      if (Object.keys(batch).length === 0) return;
      // `WHERE true` keeps SQLite from reading ON CONFLICT as part of the join.
      this.ctx.storage.sql.exec(
        `INSERT INTO series (series, value, updated_at) SELECT key, value, ? FROM json_each(?) WHERE true
         ON CONFLICT (series) DO UPDATE SET value = ${assign}, updated_at = excluded.updated_at`,
        now,
        JSON.stringify(batch),
      );
    };
    this.ctx.storage.transactionSync(() => {
      upsert("value + excluded.value", adds);
      upsert("excluded.value", sets);
    });
  }

  /** Active legacy MCP sessions of this shard's tenants: the sum of the per-tenant gauges the tenant objects keep current. */
  activeSessions(): number {
    // Series keys sort by name first: `name{` up to `name|` is exactly one metric's series (a primary-key range).
    const row = this.ctx.storage.sql
      .exec<{ total: number }>(
        "SELECT COALESCE(SUM(value), 0) AS total FROM series WHERE series >= ? AND series < ?",
        "mcp_tenant_active_sessions{",
        "mcp_tenant_active_sessions|",
      )
      .one();
    return row.total;
  }

  /**
   * Every series, except that each per-tenant metric is cut to its
   * `TENANT_SERIES_TOP` largest values here already, so what a scrape moves
   * and merges does not grow with the number of tenants. The top values are
   * read from the `series_tenant_top` index (its condition repeated so the
   * planner uses it), not sorted from every tenant's series.
   */
  snapshot(): ShardSnapshot {
    const sql = this.ctx.storage.sql;
    const series = this.#rows(
      sql.exec(`SELECT series, value, updated_at FROM series WHERE instr(series, 'tenant="') = 0`),
    );
    for (const name of PER_TENANT_METRICS) {
      const top = sql.exec(TENANT_TOP_SQL, name, TENANT_SERIES_TOP);
      series.push(...this.#rows(top));
    }
    return { series, activeSessions: this.activeSessions() };
  }

  /** Every series labelled with this tenant, whatever its rank. */
  tenantSeries(tenantId: string): ShardSeries[] {
    const label = `%tenant="${tenantId.replace(/[\\%_"]/g, (char) => `\\${char}`)}"%`;
    return this.#rows(
      this.ctx.storage.sql.exec("SELECT series, value, updated_at FROM series WHERE series LIKE ? ESCAPE '\\'", label),
    );
  }

  #rows(cursor: SqlStorageCursor<Record<string, SqlStorageValue>>): ShardSeries[] {
    return cursor
      .toArray()
      .map((row) => ({ series: String(row.series), value: Number(row.value), updatedAt: Number(row.updated_at) }));
  }
}
