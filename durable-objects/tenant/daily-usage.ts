import { type DayCount, dayOf, firstOfLastDays, USAGE_DAYS_KEPT } from "../../shared/usage-days";
import type { RateLimitStatus, UsageStatus } from "./contract";

/** An isolate's report: counts for today, by metric and key. */
export type DayReport = Omit<DayCount, "day">[];

/** What the console's usage page needs from the object, besides the day counts. */
export interface LiveUsage {
  status: { usage: UsageStatus; rateLimit: RateLimitStatus } | null;
  activeSessions: number;
}

/**
 * `TenantDO.usageDays`: add `traffic` to today's counts; with `days` > 0,
 * also answer the console's usage page in the same call — the month so far
 * and the live sessions (`live`) and `days` days of counts, the traffic just
 * added included.
 */
export function usageDays(
  sql: SqlStorage,
  traffic: DayReport,
  days: number,
  live: () => LiveUsage,
): (LiveUsage & { days: DayCount[] }) | null {
  const store = new DailyUsage(sql);
  const now = Date.now();
  store.add(traffic, now);
  return days > 0 ? { ...live(), days: store.since(days, now) } : null;
}

const MAX_KEY_CHARS = 64;

/** The day each object's storage was last pruned on (an object's `SqlStorage` lives as long as the object). */
const prunedOn = new WeakMap<SqlStorage, string>();

/**
 * A tenant's per-day counts (shared/usage-days.ts) in its object's SQLite
 * storage. The counts arrive in batches from the isolates that charged the
 * tool calls and served the requests (`TenantDO.usageDays`): with
 * admission leases an isolate charges tool calls without calling the object. Days older than
 * `USAGE_DAYS_KEPT` are dropped as new days begin, so the table stays a few
 * hundred rows and a chart reads it whole.
 */
class DailyUsage {
  readonly #sql: SqlStorage;
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
    // Days fall out of the kept range only when a day begins, so an object prunes once a day (the
    // first report of each day), not on every report.
    if (prunedOn.get(this.#sql) !== day) {
      this.#sql.exec("DELETE FROM usage_days WHERE day < ?", firstOfLastDays(now, USAGE_DAYS_KEPT));
      prunedOn.set(this.#sql, day);
    }
  }

  /** Every count of the last `days` days, today included. */
  since(days: number, now: number): DayCount[] {
    return this.#sql
      .exec<{ day: string; metric: string; key: string; count: number }>(
        "SELECT day, metric, key, count FROM usage_days WHERE day >= ?",
        firstOfLastDays(now, days),
      )
      .toArray()
      .map((row) => ({ ...row, metric: row.metric as DayCount["metric"] }));
  }
}
