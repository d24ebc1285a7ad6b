/**
 * A sliding-window request limiter kept in a Durable Object's SQLite storage.
 *
 * Time is cut into slots of `slotMs` (1 s). Each admitted request adds one to
 * the count of the slot it arrived in, and that slot keeps counting until
 * `windowMs` after the slot *ends*. Treating every request as if it arrived at
 * the end of its slot makes the limiter conservative by at most one slot, and
 * in exchange the bound is exact with a fixed, small amount of state (at most
 * window / slot + 1 rows):
 *
 * - at most `limit` requests are admitted in ANY interval of length `windowMs`
 *   — there is no fixed-window boundary at which two windows' worth can pass;
 * - a tenant that used `u` requests in the last window can burst `limit - u`
 *   at once, so a tenant well below its limit absorbs a short burst;
 * - capacity spent in a slot comes back exactly `windowMs + slotMs` after the
 *   slot started, so recovery after a full burst is gradual and predictable.
 *
 * See docs/rate-limits.md for the derivation. The Durable Object runs one
 * event at a time and every method here is synchronous, so check-and-count is
 * atomic: concurrent requests can never both take the last unit.
 */
export interface WindowState {
  limit: number;
  used: number;
  remaining: number;
  windowSeconds: number;
  /** Seconds until every request now in the window has aged out. */
  resetSeconds: number;
}

export type TakeResult =
  | { allowed: true; state: WindowState }
  | { allowed: false; state: WindowState; retryAfterSeconds: number };

const SLOT_MS = 1000;

export class SlidingWindowLimiter {
  readonly #sql: SqlStorage;
  readonly #table: string;
  /** slot index → admitted requests; a mirror of the table, which is the durable copy. */
  readonly #slots = new Map<number, number>();

  /**
   * `table` (`slot INTEGER PRIMARY KEY, count INTEGER NOT NULL`, created by
   * the owning object's storage migrations) is a fixed identifier chosen by
   * the caller, never user input.
   */
  constructor(sql: SqlStorage, table = "rate_limit_slots") {
    this.#sql = sql;
    this.#table = table;
    for (const row of sql.exec<{ slot: number; count: number }>(`SELECT slot, count FROM ${table}`)) {
      this.#slots.set(row.slot, row.count);
    }
  }

  /** The window as it stands, without counting anything. */
  peek(limit: number, windowMs: number, now: number): WindowState {
    return this.#state(limit, windowMs, now, this.#used(windowMs, now));
  }

  /** Admit and count one request if it fits under `limit`; otherwise say when one would. */
  take(limit: number, windowMs: number, now: number): TakeResult {
    this.#prune(windowMs, now);
    const used = this.#used(windowMs, now);
    if (used >= limit) {
      return {
        allowed: false,
        state: this.#state(limit, windowMs, now, used),
        retryAfterSeconds: this.#retryAfterSeconds(limit, windowMs, now, used),
      };
    }
    const slot = Math.floor(now / SLOT_MS);
    this.#slots.set(slot, (this.#slots.get(slot) ?? 0) + 1);
    this.#sql.exec(
      `INSERT INTO ${this.#table} (slot, count) VALUES (?, 1) ON CONFLICT (slot) DO UPDATE SET count = count + 1`,
      slot,
    );
    return { allowed: true, state: this.#state(limit, windowMs, now, used + 1) };
  }

  /**
   * Take up to `want` units at once for a lease, counted in the slot of
   * `countAt` (the lease's expiry): a unit used at any moment of the lease is
   * then counted until at least a full window after it was used, so the
   * "never more than `limit` in any window" bound holds for leased units too.
   * Returns how many were taken (0 when the window is full) and the slot.
   */
  takeUpTo(limit: number, windowMs: number, now: number, want: (remaining: number) => number, countAt: number) {
    this.#prune(windowMs, now);
    const used = this.#used(windowMs, now);
    const taken = Math.min(Math.max(0, limit - used), want(limit - used));
    const slot = Math.floor(countAt / SLOT_MS);
    if (taken > 0) this.#add(slot, taken);
    return { taken, slot, state: this.#state(limit, windowMs, now, used) };
  }

  /** Give back `count` units counted in `slot` that were never used (a lease's remainder). */
  giveBack(slot: number, count: number): void {
    const held = this.#slots.get(slot);
    if (held === undefined || count <= 0) return;
    this.#add(slot, -Math.min(held, count));
  }

  /** The refusal a full window answers: when one request would fit again. */
  refusal(limit: number, windowMs: number, now: number) {
    const used = this.#used(windowMs, now);
    return {
      state: this.#state(limit, windowMs, now, used),
      retryAfterSeconds: this.#retryAfterSeconds(limit, windowMs, now, used),
    };
  }

  #add(slot: number, count: number): void {
    this.#slots.set(slot, (this.#slots.get(slot) ?? 0) + count);
    this.#sql.exec(
      `INSERT INTO ${this.#table} (slot, count) VALUES (?, ?) ON CONFLICT (slot) DO UPDATE SET count = count + excluded.count`,
      slot,
      count,
    );
  }

  /** True when nothing is left in the window, so the storage can be dropped. */
  isIdle(windowMs: number, now: number): boolean {
    return this.#used(windowMs, now) === 0;
  }

  /** When the last request now counted ages out (epoch ms), or null if none is counted. */
  idleAt(windowMs: number, now: number): number | null {
    const live = this.#live(windowMs, now);
    const newest = live.at(-1);
    return newest === undefined ? null : this.#expiry(newest[0], windowMs);
  }

  /** First slot still counting at `now`: slot s counts while its end plus the window is in the future. */
  #firstLiveSlot(windowMs: number, now: number): number {
    return Math.floor((now - windowMs) / SLOT_MS);
  }

  #expiry(slot: number, windowMs: number): number {
    return (slot + 1) * SLOT_MS + windowMs;
  }

  #live(windowMs: number, now: number): [number, number][] {
    const first = this.#firstLiveSlot(windowMs, now);
    return [...this.#slots].filter(([slot]) => slot >= first).sort((a, b) => a[0] - b[0]);
  }

  #used(windowMs: number, now: number): number {
    let used = 0;
    for (const [, count] of this.#live(windowMs, now)) used += count;
    return used;
  }

  #prune(windowMs: number, now: number): void {
    const first = this.#firstLiveSlot(windowMs, now);
    let stale = false;
    for (const slot of this.#slots.keys()) {
      if (slot < first) {
        this.#slots.delete(slot);
        stale = true;
      }
    }
    if (stale) this.#sql.exec(`DELETE FROM ${this.#table} WHERE slot < ?`, first);
  }

  /** Seconds until enough of the oldest slots have aged out for one more request to fit. */
  #retryAfterSeconds(limit: number, windowMs: number, now: number, used: number): number {
    let excess = used - limit + 1;
    for (const [slot, count] of this.#live(windowMs, now)) {
      excess -= count;
      if (excess <= 0) return Math.max(1, Math.ceil((this.#expiry(slot, windowMs) - now) / 1000));
    }
    return Math.ceil((windowMs + SLOT_MS) / 1000);
  }

  #state(limit: number, windowMs: number, now: number, used: number): WindowState {
    const idleAt = this.idleAt(windowMs, now);
    return {
      limit,
      used,
      remaining: Math.max(0, limit - used),
      windowSeconds: Math.round(windowMs / 1000),
      resetSeconds: idleAt === null ? 0 : Math.max(0, Math.ceil((idleAt - now) / 1000)),
    };
  }
}
