import type { UsageTotals } from "../../shared/usage";
import type { QuotaState } from "./contract";

type Counter = "requests" | "tool_calls" | "rate_limited" | "quota_exceeded";

type Row = {
  period: string;
  requests: number;
  tool_calls: number;
  rate_limited: number;
  quota_exceeded: number;
  version: number;
  flushed_version: number;
};

/** The UTC calendar month containing `now`. */
function periodOf(now: number): string {
  return new Date(now).toISOString().slice(0, 7);
}

/** Start of the UTC month after the one containing `now`. */
function nextPeriodStart(now: number): Date {
  const date = new Date(now);
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1));
}

/**
 * Monthly usage counters of one tenant, kept in its Durable Object's SQLite
 * storage. Every count is written synchronously (a local write, not a network
 * round trip), so eviction, a deploy or a crash loses nothing; the management
 * DB's `usage` table is brought up to date in batches by `flush`.
 *
 * Each row carries a version that moves on every change and the version last
 * written to the management DB. A flush writes absolute totals, not deltas, so
 * repeating a flush whose acknowledgement was lost cannot count anything twice.
 */
export class UsageMeter {
  readonly #sql: SqlStorage;
  /**
   * The row of the month last read or written, as storage holds it (every
   * write returns the row it left), so admission reads the quota without a
   * query. Storage stays the only copy that counts; this is never written to.
   */
  #row: { period: string; row: Row | null } | null = null;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  /** Usage of the month containing `now`. */
  current(now: number): UsageTotals {
    const period = periodOf(now);
    if (this.#row?.period !== period) {
      const row = this.#sql.exec<Row>("SELECT * FROM usage_counters WHERE period = ?", period).toArray()[0] ?? null;
      this.#row = { period, row };
    }
    const { row } = this.#row;
    return row ? toUsage(row) : { period, requests: 0, toolCalls: 0, rateLimited: 0, quotaExceeded: 0 };
  }

  /** The tool-call quota as it stands at `now` against `limit` (null: unlimited). */
  quota(limit: number | null, now: number): QuotaState {
    return { limit, used: this.current(now).toolCalls, resetsAt: nextPeriodStart(now).toISOString() };
  }

  /** True when one more metered tool call would exceed `limit`. */
  exhausted(limit: number | null, now: number): boolean {
    return limit !== null && this.current(now).toolCalls >= limit;
  }

  count(counters: Counter[], now: number): void {
    if (counters.length === 0) return;
    const increments = counters.map((counter) => `${counter} = ${counter} + 1`).join(", ");
    const columns = counters.join(", ");
    const ones = counters.map(() => "1").join(", ");
    this.#remember(
      this.#sql.exec<Row>(
        `INSERT INTO usage_counters (period, ${columns}, version) VALUES (?, ${ones}, 1)
         ON CONFLICT (period) DO UPDATE SET ${increments}, version = version + 1 RETURNING *`,
        periodOf(now),
      ),
    );
  }

  /** Add several counts at once (a settled or expired lease's use, refusals an isolate reported). */
  add(amounts: Partial<Record<Counter, number>>, now: number): void {
    const counters = (Object.keys(amounts) as Counter[]).filter((counter) => (amounts[counter] ?? 0) > 0);
    if (counters.length === 0) return;
    const values = counters.map((counter) => Math.floor(amounts[counter] ?? 0));
    const columns = counters.join(", ");
    const increments = counters.map((counter) => `${counter} = ${counter} + excluded.${counter}`).join(", ");
    this.#remember(
      this.#sql.exec<Row>(
        `INSERT INTO usage_counters (period, ${columns}, version) VALUES (?, ${values.map(() => "?").join(", ")}, 1)
         ON CONFLICT (period) DO UPDATE SET ${increments}, version = version + 1 RETURNING *`,
        periodOf(now),
        ...values,
      ),
    );
  }

  /** Add `amount` (negative to give back) to this month's tool calls, never below zero. */
  addToolCalls(amount: number, now: number): void {
    this.#remember(
      this.#sql.exec<Row>(
        `INSERT INTO usage_counters (period, tool_calls, version) VALUES (?, MAX(0, ?), 1)
         ON CONFLICT (period) DO UPDATE SET tool_calls = MAX(0, tool_calls + ?), version = version + 1 RETURNING *`,
        periodOf(now),
        amount,
        amount,
      ),
    );
  }

  #remember(written: SqlStorageCursor<Row>): void {
    const row = written.one();
    this.#row = { period: row.period, row };
  }

  /** True when some count has not reached the management DB yet. */
  hasUnflushed(): boolean {
    return this.#sql.exec("SELECT 1 FROM usage_counters WHERE version > flushed_version LIMIT 1").toArray().length > 0;
  }

  /**
   * Hand every period with unflushed counts to `write` (absolute totals), then
   * mark what was written. Counts that arrive while `write` is awaiting keep
   * their row unflushed for the next round.
   */
  async flush(write: (rows: UsageTotals[]) => Promise<void>, now: number): Promise<number> {
    const rows = this.#sql.exec<Row>("SELECT * FROM usage_counters WHERE version > flushed_version").toArray();
    if (rows.length === 0) return 0;
    await write(rows.map(toUsage));
    for (const row of rows) {
      this.#sql.exec(
        "UPDATE usage_counters SET flushed_version = MAX(flushed_version, ?) WHERE period = ?",
        row.version,
        row.period,
      );
    }
    this.#row = null;
    // Past months are final once flushed; the management DB keeps their history.
    this.#sql.exec("DELETE FROM usage_counters WHERE period < ? AND version = flushed_version", periodOf(now));
    return rows.length;
  }
}

function toUsage(row: Row): UsageTotals {
  return {
    period: row.period,
    requests: row.requests,
    toolCalls: row.tool_calls,
    rateLimited: row.rate_limited,
    quotaExceeded: row.quota_exceeded,
  };
}
