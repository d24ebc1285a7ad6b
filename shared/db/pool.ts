/**
 * Caps how many database calls one isolate has in flight. Hrana over HTTP has
 * no connections to pool, but an isolate can still pile up requests against a
 * slow database; past the cap, callers wait (up to a deadline) instead of
 * adding load. `available` is what the runbook's "pool exhausted" check reads.
 */
export class PoolExhaustedError extends Error {
  override name = "PoolExhaustedError";
}

export interface PoolSnapshot {
  size: number;
  max: number;
  available: number;
  waiting: number;
}

/** How often a waiting caller looks for a free slot. */
const POLL_MS = 5;

export class ConcurrencyPool {
  #inFlight = 0;
  #waiting = 0;

  constructor(readonly max: number) {}

  snapshot(clients: number): PoolSnapshot {
    return { size: clients, max: this.max, available: this.max - this.#inFlight, waiting: this.#waiting };
  }

  async run<T>(call: () => Promise<T>, waitMs: number): Promise<T> {
    if (this.#inFlight >= this.max) await this.#waitForSlot(waitMs);
    this.#inFlight += 1;
    try {
      return await call();
    } finally {
      this.#inFlight -= 1;
    }
  }

  /**
   * Waiters poll rather than being woken by the caller that frees a slot:
   * in Workers, a timer or promise belongs to the request that created it, and
   * one request may not cancel or settle another's ("Cannot perform I/O on
   * behalf of a different request").
   */
  async #waitForSlot(waitMs: number): Promise<void> {
    const deadline = Date.now() + waitMs;
    this.#waiting += 1;
    try {
      while (this.#inFlight >= this.max) {
        if (Date.now() >= deadline) {
          throw new PoolExhaustedError(`no database slot free within ${waitMs} ms (${this.max} in flight)`);
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    } finally {
      this.#waiting -= 1;
    }
  }
}
