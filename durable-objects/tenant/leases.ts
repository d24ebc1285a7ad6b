import { EXPIRY_GRACE_MS, type LeaseSettlement } from "./contract";

/**
 * The leases a tenant's object has granted and not yet seen settled: the
 * durable ledger behind "never more than the limit". A lease's request units
 * are counted in the rate window when granted; its tool-call units are held
 * here and count against the monthly quota until settled. Settling (a renewal
 * or a return) moves the used part into the usage counters and gives the rest
 * back. A lease nobody settles (its isolate died holding it) is reconciled
 * `EXPIRY_GRACE_MS` after it expired as used in full: the object cannot tell
 * what was used, and giving the units back could let the quota be exceeded.
 */
export interface LeaseRow extends Record<string, SqlStorageValue> {
  id: string;
  expires_at: number;
  slot: number;
  requests: number;
  tool_calls: number;
}

export class LeaseLedger {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  record(row: LeaseRow): void {
    this.#sql.exec(
      "INSERT INTO admission_leases (id, expires_at, slot, requests, tool_calls) VALUES (?, ?, ?, ?, ?)",
      row.id,
      row.expires_at,
      row.slot,
      row.requests,
      row.tool_calls,
    );
  }

  /** Remove and return the lease a settlement names; null when it is unknown or was already reconciled. */
  remove(settlement: LeaseSettlement): LeaseRow | null {
    return (
      this.#sql.exec<LeaseRow>("DELETE FROM admission_leases WHERE id = ? RETURNING *", settlement.id).toArray()[0] ??
      null
    );
  }

  /** Tool calls granted to leases still outstanding: they count against the quota until settled. */
  outstandingToolCalls(): number {
    return this.#sql.exec<{ n: number | null }>("SELECT SUM(tool_calls) AS n FROM admission_leases").one().n ?? 0;
  }

  /** Remove and return every lease past expiry plus the grace period: its isolate will not settle it. */
  expired(now: number): LeaseRow[] {
    return this.#sql
      .exec<LeaseRow>("DELETE FROM admission_leases WHERE expires_at + ? <= ? RETURNING *", EXPIRY_GRACE_MS, now)
      .toArray();
  }

  /** When the last unsettled lease expires (epoch ms), or null when none is outstanding. */
  lastExpiry(): number | null {
    return this.#sql.exec<{ at: number | null }>("SELECT MAX(expires_at) AS at FROM admission_leases").one().at;
  }

  /** When the next unsettled lease is reconciled, or null when none is outstanding: a deadline for the alarm. */
  nextDeadline(): number | null {
    const row = this.#sql.exec<{ at: number | null }>("SELECT MIN(expires_at) AS at FROM admission_leases").one();
    return row.at === null ? null : row.at + EXPIRY_GRACE_MS;
  }
}
