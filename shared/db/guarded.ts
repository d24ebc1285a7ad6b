import { type Client, type InStatement, LibsqlError } from "@libsql/client/web";
import { type CircuitBreaker, CircuitOpenError } from "./circuit-breaker";
import type { ConcurrencyPool } from "./pool";

/**
 * True when an error means the database could not be reached or did not
 * answer (timeout, refused connection, HTTP 5xx, auth), as opposed to a
 * statement SQLite rejected: only the former counts against a breaker.
 */
export function isConnectionFailure(error: unknown): boolean {
  if (error instanceof CircuitOpenError) return false;
  if (error instanceof LibsqlError) return !error.code.startsWith("SQLITE_");
  return true;
}

/**
 * The database behind `target` could not be used: unreachable, too slow,
 * breaker open or no pool slot. Routes answer it with 503 "database
 * unavailable" and a Retry-After; the original error is kept as the cause.
 */
export class DatabaseUnavailableError extends Error {
  override name = "DatabaseUnavailableError";
  constructor(
    readonly target: string,
    readonly retryAfterSeconds: number,
    options: { cause: unknown },
  ) {
    super(`database unavailable: ${target}`, options);
  }
}

const READ_ONLY = /^\s*(SELECT|WITH|PRAGMA|EXPLAIN)\b/i;

function sqlOf(statement: InStatement): string {
  return typeof statement === "string" ? statement : statement.sql;
}

export interface GuardOptions {
  breaker: CircuitBreaker;
  pool: ConcurrencyPool;
  /** How long a call may wait for a pool slot. */
  waitMs: number;
  /** Retries for idempotent reads only; writes are never repeated. */
  readRetries: number;
  retryBaseMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Wrap a client so every call goes through the pool and the target's breaker,
 * and a read that failed to connect is retried with exponential backoff and
 * full jitter (so retrying isolates do not stampede a recovering database).
 */
export function guardDatabase(client: Client, options: GuardOptions): Client {
  const guarded = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await options.pool.run(() => options.breaker.run(call, isConnectionFailure), options.waitMs);
    } catch (error) {
      if (error instanceof CircuitOpenError) {
        throw new DatabaseUnavailableError(options.breaker.target, Math.ceil(error.retryAfterMs / 1000), {
          cause: error,
        });
      }
      if (isConnectionFailure(error)) throw new DatabaseUnavailableError(options.breaker.target, 5, { cause: error });
      throw error;
    }
  };

  const execute = async (statement: InStatement) => {
    const retries = READ_ONLY.test(sqlOf(statement)) ? options.readRetries : 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return await guarded(() => client.execute(statement));
      } catch (error) {
        const retryable = error instanceof DatabaseUnavailableError && !(error.cause instanceof CircuitOpenError);
        if (attempt >= retries || !retryable) throw error;
        await sleep(Math.random() * options.retryBaseMs * 2 ** attempt);
      }
    }
  };

  return new Proxy(client, {
    get(target, property) {
      switch (property) {
        case "execute":
          return (statement: InStatement | string, args?: unknown) =>
            execute(args === undefined ? (statement as InStatement) : ({ sql: statement, args } as InStatement));
        case "batch":
          return (...params: Parameters<Client["batch"]>) => guarded(() => target.batch(...params));
        case "executeMultiple":
          return (sql: string) => guarded(() => target.executeMultiple(sql));
        case "transaction":
          return (...params: Parameters<Client["transaction"]>) => guarded(() => target.transaction(...params));
        default: {
          // Bound to the client itself: its methods use private fields, which
          // a call with the proxy as `this` cannot reach (`close()` threw).
          const value = Reflect.get(target, property, target);
          return typeof value === "function" ? value.bind(target) : value;
        }
      }
    },
  });
}
