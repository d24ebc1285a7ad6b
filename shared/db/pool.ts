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

/**
 * Fairness between tenants: a call may name its `owner` (the tenant), and one
 * owner holds at most `perOwnerMax` slots; its further calls wait (or fail
 * with `PoolExhaustedError`, answered 503 with Retry-After) while the rest of
 * the pool stays free for everyone else. So one tenant flooding an isolate
 * cannot make another tenant's requests queue behind its own. Calls without
 * an owner (the management DB) are capped by the pool only.
 */
export class ConcurrencyPool {
  #inFlight = 0;
  #waiting = 0;
  /** Slots held per owner; an owner with none has no entry, so the map stays small. */
  readonly #byOwner = new Map<string, number>();

  constructor(
    readonly max: number,
    readonly perOwnerMax = max,
  ) {}

  snapshot(clients: number): PoolSnapshot {
    return { size: clients, max: this.max, available: this.max - this.#inFlight, waiting: this.#waiting };
  }

  /** Slots `owner` holds now. */
  heldBy(owner: string): number {
    return this.#byOwner.get(owner) ?? 0;
  }

  async run<T>(call: () => Promise<T>, waitMs: number, owner?: string): Promise<T> {
    if (!this.#free(owner)) await this.#waitForSlot(waitMs, owner);
    this.#inFlight += 1;
    if (owner !== undefined) this.#byOwner.set(owner, this.heldBy(owner) + 1);
    try {
      return await call();
    } finally {
      this.#inFlight -= 1;
      if (owner !== undefined) {
        const held = this.heldBy(owner) - 1;
        if (held > 0) this.#byOwner.set(owner, held);
        else this.#byOwner.delete(owner);
      }
    }
  }

  #free(owner: string | undefined): boolean {
    return this.#inFlight < this.max && (owner === undefined || this.heldBy(owner) < this.perOwnerMax);
  }

  /**
   * Waiters poll rather than being woken by the caller that frees a slot:
   * in Workers, a timer or promise belongs to the request that created it, and
   * one request may not cancel or settle another's ("Cannot perform I/O on
   * behalf of a different request").
   */
  async #waitForSlot(waitMs: number, owner: string | undefined): Promise<void> {
    const deadline = Date.now() + waitMs;
    this.#waiting += 1;
    try {
      while (!this.#free(owner)) {
        if (Date.now() >= deadline) {
          const held = owner === undefined ? "" : `; this tenant holds ${this.heldBy(owner)} of ${this.perOwnerMax}`;
          throw new PoolExhaustedError(
            `no database slot free within ${waitMs} ms (${this.#inFlight} of ${this.max} in flight${held})`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    } finally {
      this.#waiting -= 1;
    }
  }
}
