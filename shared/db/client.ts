import { createClient, type InStatement, type ResultSet } from "@libsql/client/web";
import { openHranaHttp, pipelineUrl } from "./hrana-http";

export type { ResultSet } from "@libsql/client/web";

/** One SQL statement: bare text, or text with positional or named arguments. */
export type Statement = InStatement;

/**
 * What a call does to the database, said by the caller rather than guessed
 * from the SQL. A `read` changes nothing, so after a failed connection it may
 * be sent again; a `write` is never repeated (a timeout can hide a commit).
 * A batch runs as one transaction of that kind.
 */
export type Intent = "read" | "write";

/**
 * The one way domain code, tools and the guard talk to a database: exactly
 * what the callers use, so a guard, a fake or a table copier can implement it
 * whole. Every write that needs more than one statement is a `batch`, which
 * the database runs as one transaction (all applied or none).
 */
export interface Database {
  execute(statement: Statement, intent: Intent): Promise<ResultSet>;
  batch(statements: Statement[], intent: Intent): Promise<ResultSet[]>;
}

/** A database this process opened and must close when done with it. */
export interface DatabaseClient extends Database {
  close(): void;
}

export interface DatabaseCoordinates {
  url: string;
  authToken: string;
}

/** Thrown when a database call does not answer within its timeout. */
export class DatabaseTimeoutError extends Error {
  override name = "DatabaseTimeoutError";
}

/**
 * A fetch that gives up after `timeoutMs`. The Hrana client hands us a
 * ready-made Request, so the deadline is attached here rather than per query:
 * every round trip (execute or batch) gets the same budget.
 */
export function fetchWithTimeout(timeoutMs: number): typeof fetch {
  return async (input, init) => {
    try {
      return await fetch(input, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      if (error instanceof DOMException && error.name === "TimeoutError") {
        throw new DatabaseTimeoutError(`database did not answer within ${timeoutMs} ms`);
      }
      throw error;
    }
  };
}

/**
 * Open a Hrana-over-HTTP database (Turso in production, the local libSQL
 * server in development). Integers come back as JavaScript numbers; every id
 * we store fits in 53 bits, and `bigint` would leak into JSON serialisation.
 */
export function openDatabase(
  coordinates: DatabaseCoordinates,
  timeoutMs: number,
  options: { exactIntegers?: boolean } = {},
): DatabaseClient {
  // Integers as numbers over http(s) or libsql URLs: the lean client (hrana-http.ts says why). Code that
  // copies values verbatim (bigint) and URLs with parameters keep the library.
  const endpoint = options.exactIntegers ? null : pipelineUrl(coordinates.url);
  if (endpoint) return openHranaHttp(endpoint, coordinates.authToken, fetchWithTimeout(timeoutMs));
  const client = createClient({
    url: coordinates.url,
    authToken: coordinates.authToken || undefined,
    fetch: fetchWithTimeout(timeoutMs),
    // `exactIntegers` (bigint) is for code that copies values back verbatim: a
    // number would be sent back as a float.
    intMode: options.exactIntegers ? "bigint" : "number",
    // The client's own limiter (default 20) queues calls and starts them from
    // whichever request freed a slot; in Workers that fetch then belongs to the
    // wrong request and fails ("Cannot perform I/O on behalf of a different
    // request"). `0` does not disable it (the client reads 0 as 20), so the
    // limit is set out of reach; ConcurrencyPool caps calls per isolate instead.
    concurrency: Number.MAX_SAFE_INTEGER,
  });
  return {
    // A single statement is sent as a batch of one (a deferred transaction, which for one statement is what
    // autocommit does), not with the client's `execute`. `execute` sends from a microtask that, on a client
    // an isolate has just created, chains onto the client's version probe: a promise of the request that
    // created the client. When that request ended first, workerd dropped the other request's continuation
    // ("IoContext dropped queued cross-context actions", once in every soak run while `recall` used
    // `execute`; docs/rate-limits.md). `batch` awaits `getVersion()` in the caller's own request first.
    // The intent only matters to a guard; "deferred" rather than "read" keeps a statement's own effect.
    execute: async (statement) => {
      const [result] = await client.batch([statement], "deferred");
      if (!result) throw new Error("database answered a one-statement batch with no result");
      return result;
    },
    batch: (statements, intent) => client.batch(statements, intent),
    close: () => client.close(),
  };
}
