/**
 * A circuit breaker per database. After `failureThreshold`
 * consecutive connection failures it opens: calls fail at once with
 * CircuitOpenError instead of piling onto a database that is not answering.
 * After the open period one probe is let through (half-open); success closes
 * the breaker, failure re-opens it for twice as long, up to `maxOpenMs`.
 *
 * Breakers are per isolate on purpose: each isolate judges its own path to
 * the database, and a breaker needs no network round trip to consult.
 */
export type BreakerState = "closed" | "open" | "half_open";

export interface BreakerOptions {
  failureThreshold: number;
  openMs: number;
  maxOpenMs: number;
}

export interface BreakerEvents {
  onTransition?(from: BreakerState, to: BreakerState, breaker: CircuitBreaker): void;
  onFailure?(breaker: CircuitBreaker, error: unknown): void;
  onProbe?(result: "success" | "failure", breaker: CircuitBreaker): void;
}

export class CircuitOpenError extends Error {
  override name = "CircuitOpenError";
  constructor(
    readonly database: string,
    readonly retryAfterMs: number,
  ) {
    super(`Circuit breaker is open for ${database}`);
  }
}

export interface BreakerSnapshot {
  state: BreakerState;
  consecutiveFailures: number;
  /** Milliseconds until a probe is allowed; 0 unless open. */
  retryAfterMs: number;
  opens: number;
}

export class CircuitBreaker {
  #state: BreakerState = "closed";
  #consecutiveFailures = 0;
  /** Consecutive opens without a successful probe in between: drives the backoff. */
  #opens = 0;
  #openUntil = 0;
  #probeInFlight = false;

  constructor(
    /** The database guarded: `management`, or a tenant id. */
    readonly database: string,
    readonly options: BreakerOptions,
    readonly events: BreakerEvents = {},
    readonly now: () => number = Date.now,
  ) {}

  get state(): BreakerState {
    return this.#state;
  }

  snapshot(): BreakerSnapshot {
    return {
      state: this.#state,
      consecutiveFailures: this.#consecutiveFailures,
      retryAfterMs: this.#state === "open" ? Math.max(0, this.#openUntil - this.now()) : 0,
      opens: this.#opens,
    };
  }

  /**
   * Run `call` through the breaker. `isFailure` decides which errors mean the
   * database is unreachable (timeouts, refused connections, 5xx) as opposed
   * to a query that was simply wrong, which must not trip the breaker.
   */
  async run<T>(call: () => Promise<T>, isFailure: (error: unknown) => boolean): Promise<T> {
    let probing = false;
    if (this.#state === "open") {
      const wait = this.#openUntil - this.now();
      if (wait > 0) throw new CircuitOpenError(this.database, wait);
      this.#transition("half_open");
    }
    if (this.#state === "half_open") {
      if (this.#probeInFlight) throw new CircuitOpenError(this.database, 1000);
      this.#probeInFlight = true;
      probing = true;
    }
    try {
      const result = await call();
      this.#succeeded(probing);
      return result;
    } catch (error) {
      if (isFailure(error)) this.#failed(probing, error);
      else this.#succeeded(probing);
      throw error;
    } finally {
      if (probing) this.#probeInFlight = false;
    }
  }

  #succeeded(probing: boolean): void {
    this.#consecutiveFailures = 0;
    if (probing) {
      this.events.onProbe?.("success", this);
      this.#opens = 0;
      this.#transition("closed");
    }
  }

  #failed(probing: boolean, error: unknown): void {
    this.#consecutiveFailures += 1;
    this.events.onFailure?.(this, error);
    if (probing) this.events.onProbe?.("failure", this);
    if (probing || (this.#state === "closed" && this.#consecutiveFailures >= this.options.failureThreshold)) {
      this.#opens += 1;
      const backoff = this.options.openMs * 2 ** (this.#opens - 1);
      this.#openUntil = this.now() + Math.min(backoff, this.options.maxOpenMs);
      this.#transition("open");
    }
  }

  #transition(to: BreakerState): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.events.onTransition?.(from, to, this);
  }
}
