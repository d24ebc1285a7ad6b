import type { Database } from "../../shared/db/client";
import type { DatabaseTarget } from "../../shared/db/guarded";
import { PoolExhaustedError } from "../../shared/db/pool";
import { recorder } from "./telemetry";

/**
 * `db` with every call timed into `db_query_duration_seconds{target}` (as the
 * caller waits for it: pool slot, retries and backoff included) and pool
 * refusals counted in `db_pool_exhausted_total{target}`. The pool itself is
 * per isolate, so its live figures stay in `/health`; these two are what adds
 * up across isolates.
 */
export function measuredDatabase(db: Database, target: DatabaseTarget): Database {
  const time = async <T>(call: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await call();
    } catch (error) {
      if (error instanceof PoolExhaustedError) recorder.inc("db_pool_exhausted_total", { target });
      throw error;
    } finally {
      recorder.observe("db_query_duration_seconds", { target }, (performance.now() - started) / 1000);
    }
  };
  return {
    execute: (statement, intent) => time(() => db.execute(statement, intent)),
    batch: (statements, intent) => time(() => db.batch(statements, intent)),
  };
}
