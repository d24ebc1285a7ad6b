import { LibsqlError } from "@libsql/client/web";
import { type CircuitBreaker, CircuitOpenError } from "./circuit-breaker";
import type { Database, Intent } from "./client";
import type { ConcurrencyPool } from "./pool";

/**
 * True when an error means the database could not be reached or did not
 * answer (timeout, refused connection, HTTP 5xx, auth), as opposed to a
 * statement SQLite rejected: only the former counts against a breaker.
 */
function isConnectionFailure(error: unknown): boolean {
  if (error instanceof CircuitOpenError) return false;
  if (error instanceof LibsqlError) return !error.code.startsWith("SQLITE_");
  return true;
}

/**
 * Which kind of database a guard protects: the `target` label of the breaker
 * and connection metrics, and what decides how an outage is reported.
 */
export type DatabaseTarget = "managementDb" | "tenantDb";

/**
 * The database could not be used: unreachable, too slow,
 * breaker open or no pool slot. Routes answer it with 503 "database
 * unavailable" and a Retry-After; the original error is kept as the cause.
 */
export class DatabaseUnavailableError extends Error {
  override name = "DatabaseUnavailableError";
  constructor(
    readonly target: DatabaseTarget,
    /** The database: `management`, or a tenant id. */
    readonly database: string,
    /** When the database may be usable again, if known (an open breaker's remaining time). */
    readonly retryAfterSeconds: number | undefined,
    options: { cause: unknown },
  ) {
    super(`database unavailable: ${database}`, options);
  }
}

export interface GuardOptions {
  target: DatabaseTarget;
  breaker: CircuitBreaker;
  pool: ConcurrencyPool;
  /** Whose calls these are in the pool (the tenant id), for its per-tenant cap; none for the management DB. */
  owner?: string;
  /** How long a call may wait for a pool slot. */
  waitMs: number;
  /** Retries of a `read` call that failed to connect; a `write` is never repeated. */
  readRetries: number;
  retryBaseMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A database whose every call goes through the isolate's pool and the
 * target's breaker, and whose `read` calls that failed to connect are retried
 * with exponential backoff and full jitter (so retrying isolates do not
 * stampede a recovering database). A `write` is sent once: a timeout can hide
 * a commit, and the caller's idempotency decides what a retry may do.
 */
export function guardDatabase(db: Database, options: GuardOptions): Database {
  const guarded = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await options.pool.run(
        () => options.breaker.run(call, isConnectionFailure),
        options.waitMs,
        options.owner,
      );
    } catch (error) {
      if (error instanceof CircuitOpenError) {
        const retryAfterSeconds = Math.ceil(error.retryAfterMs / 1000);
        throw new DatabaseUnavailableError(options.target, options.breaker.database, retryAfterSeconds, {
          cause: error,
        });
      }
      if (isConnectionFailure(error)) {
        throw new DatabaseUnavailableError(options.target, options.breaker.database, undefined, { cause: error });
      }
      throw error;
    }
  };

  const run = async <T>(intent: Intent, call: () => Promise<T>): Promise<T> => {
    const retries = intent === "read" ? options.readRetries : 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return await guarded(call);
      } catch (error) {
        const retryable = error instanceof DatabaseUnavailableError && !(error.cause instanceof CircuitOpenError);
        if (attempt >= retries || !retryable) throw error;
        await sleep(Math.random() * options.retryBaseMs * 2 ** attempt);
      }
    }
  };

  return {
    execute: (statement, intent) => run(intent, () => db.execute(statement, intent)),
    batch: (statements, intent) => run(intent, () => db.batch(statements, intent)),
  };
}
