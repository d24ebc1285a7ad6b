import { type Config, readConfig } from "../shared/config";
import { CircuitBreaker } from "../shared/db/circuit-breaker";
import { type Database, type DatabaseClient, type DatabaseCoordinates, openDatabase } from "../shared/db/client";
import { guardDatabase } from "../shared/db/guarded";
import { ConcurrencyPool } from "../shared/db/pool";
import { createLogger, describeError } from "../shared/logging";
import { recorder } from "./ops/telemetry";

/**
 * What a request needs beyond its own input, built once per isolate. Workers
 * reuse an isolate across requests with the same `env` object, so the parsed
 * config, the database clients and their breakers are cached against it.
 */
export interface Services {
  config: Config;
  mgmtDb: Database;
  /** The management DB without breaker or retries: health checks must see it as it is. */
  mgmtDbProbe: Database;
  mgmtBreaker: CircuitBreaker;
  pool: ConcurrencyPool;
  /** The tenant's database client, guarded by that database's own breaker. */
  tenantDb(tenantId: string, coordinates: DatabaseCoordinates): Database;
  tenantBreakers(): CircuitBreaker[];
  /** Database clients this isolate holds open (for the pool gauge). */
  clientCount(): number;
}

export type DbTarget = "managementDb" | "tenantDb";

/** `circuit_breaker_state` gauge values. */
export const BREAKER_STATE_VALUE = { closed: 0, half_open: 1, open: 2 } as const;
const MAX_TENANT_CLIENTS = 500;

const cache = new WeakMap<Env, Services>();

function newBreaker(config: Config, target: DbTarget, name: string): CircuitBreaker {
  const logger = createLogger({ component: "circuit-breaker", target, database: name });
  return new CircuitBreaker(name, config.breaker, {
    onTransition(from, to) {
      const level = to === "open" ? "error" : "warn";
      const message = to === "open" ? "Circuit breaker is open" : `Circuit breaker is ${to.replace("_", "-")}`;
      logger.log(level, message, { from, to });
      recorder.inc("circuit_breaker_transitions_total", { target, to });
      recorder.set("circuit_breaker_state", { target }, BREAKER_STATE_VALUE[to]);
    },
    onFailure(_breaker, error) {
      recorder.inc("db_connection_failures_total", { target });
      logger.warn("database connection failure", describeError(error));
    },
    onProbe(result) {
      recorder.inc("circuit_breaker_half_open_total", { target, result });
    },
  });
}

function buildServices(env: Env): Services {
  const config = readConfig(env);
  const pool = new ConcurrencyPool(config.dbPoolMax);
  const guard = (db: Database, breaker: CircuitBreaker) =>
    guardDatabase(db, {
      breaker,
      pool,
      waitMs: config.dbTimeoutMs,
      readRetries: config.dbReadRetries,
      retryBaseMs: 100,
    });
  const mgmtBreaker = newBreaker(config, "managementDb", "management");
  const mgmtDb = guard(openDatabase(config.mgmtDb, config.dbTimeoutMs), mgmtBreaker);

  // Least recently used first: re-inserting on use keeps the Map in LRU order.
  const tenants = new Map<
    string,
    { url: string; authToken: string; client: DatabaseClient; guarded: Database; breaker: CircuitBreaker }
  >();
  return {
    config,
    mgmtDb,
    mgmtDbProbe: openDatabase(config.mgmtDb, config.dbTimeoutMs),
    mgmtBreaker,
    pool,
    tenantDb(tenantId, coordinates) {
      let entry = tenants.get(tenantId);
      // A moved database or a rotated token means a new client (and a fresh breaker).
      if (entry && (entry.url !== coordinates.url || entry.authToken !== coordinates.authToken)) {
        entry.client.close();
        entry = undefined;
      }
      if (!entry) {
        const breaker = newBreaker(config, "tenantDb", tenantId);
        const client = openDatabase(coordinates, config.dbTimeoutMs);
        entry = {
          url: coordinates.url,
          authToken: coordinates.authToken,
          client,
          guarded: guard(client, breaker),
          breaker,
        };
      }
      tenants.delete(tenantId);
      tenants.set(tenantId, entry);
      if (tenants.size > MAX_TENANT_CLIENTS) {
        const [oldest, evicted] = tenants.entries().next().value ?? [];
        if (oldest !== undefined && evicted) {
          evicted.client.close();
          tenants.delete(oldest);
        }
      }
      return entry.guarded;
    },
    tenantBreakers: () => [...tenants.values()].map((entry) => entry.breaker),
    clientCount: () => 2 + tenants.size,
  };
}

export function getServices(env: Env): Services {
  let services = cache.get(env);
  if (!services) {
    services = buildServices(env);
    cache.set(env, services);
  }
  return services;
}
