import { type DayCount, dayOf, lastDays, USAGE_DAYS_KEPT } from "../../shared/usage-days";

const MAX_KEY_CHARS = 64;

/**
 * A tenant's per-day counts (shared/usage-days.ts) in its object's SQLite
 * storage. Tool calls are counted here as they are charged, exactly; the
 * requests' status classes and latencies arrive in batches from the
 * isolates that served them (`TenantDO.recordTraffic`). Days older than
 * `USAGE_DAYS_KEPT` are dropped as new days begin, so the table stays a few
 * hundred rows and a chart reads it whole.
 */
export class DailyUsage {
  readonly #sql: SqlStorage;
  /** The last day a write pruned for; a write on a new day prunes once. */
  #prunedFor: string | null = null;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  add(counts: readonly Omit<DayCount, "day">[], now: number): void {
    const day = dayOf(now);
    for (const { metric, key, count } of counts) {
      if (!Number.isInteger(count) || count <= 0) continue;
      this.#sql.exec(
        `INSERT INTO usage_days (day, metric, key, count) VALUES (?, ?, ?, ?)
         ON CONFLICT (day, metric, key) DO UPDATE SET count = count + excluded.count`,
        day,
        metric,
        key.slice(0, MAX_KEY_CHARS),
        count,
      );
    }
    if (this.#prunedFor !== day) {
      this.#sql.exec("DELETE FROM usage_days WHERE day < ?", lastDays(now, USAGE_DAYS_KEPT)[0] ?? day);
      this.#prunedFor = day;
    }
  }

  /** Every count of the last `days` days, today included. */
  since(days: number, now: number): DayCount[] {
    return this.#sql
      .exec<{ day: string; metric: string; key: string; count: number }>(
        "SELECT day, metric, key, count FROM usage_days WHERE day >= ?",
        lastDays(now, days)[0] ?? dayOf(now),
      )
      .toArray()
      .map((row) => ({ ...row, metric: row.metric as DayCount["metric"] }));
  }
}
