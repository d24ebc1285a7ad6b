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

export class ConcurrencyPool {
  #inFlight = 0;
  readonly #waiters: (() => void)[] = [];

  constructor(readonly max: number) {}

  snapshot(clients: number): PoolSnapshot {
    return { size: clients, max: this.max, available: this.max - this.#inFlight, waiting: this.#waiters.length };
  }

  async run<T>(call: () => Promise<T>, waitMs: number): Promise<T> {
    if (this.#inFlight >= this.max) await this.#wait(waitMs);
    this.#inFlight += 1;
    try {
      return await call();
    } finally {
      this.#inFlight -= 1;
      this.#waiters.shift()?.();
    }
  }

  #wait(waitMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const index = this.#waiters.indexOf(wake);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(new PoolExhaustedError(`no database slot free within ${waitMs} ms (${this.max} in flight)`));
      }, waitMs);
      this.#waiters.push(wake);
    });
  }
}
