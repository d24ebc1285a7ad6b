import type Stripe from "stripe";
import { stripeClient } from "../shared/billing/stripe-client";
import { type Config, readConfig } from "../shared/config";
import { CircuitBreaker } from "../shared/db/circuit-breaker";
import { type Database, type DatabaseClient, type DatabaseCoordinates, openDatabase } from "../shared/db/client";
import { type DatabaseTarget, guardDatabase } from "../shared/db/guarded";
import { ConcurrencyPool } from "../shared/db/pool";
import { createLogger, describeError } from "../shared/logging";
import { assertTenantDatabase } from "../shared/tenants/tenants";
import { measuredDatabase } from "./ops/database-metrics";
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
  /** The Stripe API client; null when billing is not configured. */
  stripe: Stripe | null;
  pool: ConcurrencyPool;
  /** The tenant's database client, guarded by that database's own breaker. */
  tenantDb(tenantId: string, coordinates: DatabaseCoordinates): Database;
  tenantBreakers(): CircuitBreaker[];
  /** Database clients this isolate holds open (for the pool gauge). */
  clientCount(): number;
}

/** `circuit_breaker_state` gauge values. */
export const BREAKER_STATE_VALUE = { closed: 0, half_open: 1, open: 2 } as const;
const MAX_TENANT_CLIENTS = 500;

const cache = new WeakMap<Env, Services>();

function newBreaker(config: Config, target: DatabaseTarget, name: string): CircuitBreaker {
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
      // A tenant breaker is named after its tenant: the per-tenant series says whose database is failing.
      if (target === "tenantDb") recorder.inc("tenant_db_connection_failures_total", { tenant: name });
      logger.warn("database connection failure", describeError(error));
    },
    onProbe(result) {
      recorder.inc("circuit_breaker_half_open_total", { target, result });
    },
  });
}

function buildServices(env: Env): Services {
  const config = readConfig(env);
  const pool = new ConcurrencyPool(config.dbPoolMax, config.dbPoolTenantMax);
  const guard = (db: Database, target: DatabaseTarget, breaker: CircuitBreaker, owner?: string) =>
    measuredDatabase(
      guardDatabase(db, {
        target,
        breaker,
        pool,
        owner,
        waitMs: config.dbTimeoutMs,
        readRetries: config.dbReadRetries,
        retryBaseMs: 100,
      }),
      target,
    );
  const mgmtBreaker = newBreaker(config, "managementDb", "management");
  const mgmtDb = guard(openDatabase(config.mgmtDb, config.dbTimeoutMs), "managementDb", mgmtBreaker);

  // Least recently used first: re-inserting on use keeps the Map in LRU order.
  const tenants = new Map<
    string,
    { url: string; authToken: string; client: DatabaseClient; guarded: Database; breaker: CircuitBreaker }
  >();
  /**
   * Tenant databases whose `tenant_meta` this isolate has checked, by client.
   * A flag, not a shared promise (a promise must not cross requests): until
   * the first check succeeds, each caller runs its own.
   */
  const verified = new WeakSet<DatabaseClient>();
  return {
    config,
    mgmtDb,
    mgmtDbProbe: openDatabase(config.mgmtDb, config.dbTimeoutMs),
    mgmtBreaker,
    stripe: config.billing ? stripeClient(config.billing) : null,
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
          guarded: ownedBy(tenantId, client, guard(client, "tenantDb", breaker, tenantId), verified),
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

/**
 * `db` for `tenantId`, checked against the owner its `tenant_meta` records
 * before its first use in this isolate (and again after a new client), so a
 * management-DB record pointing at another tenant's database is refused
 * (`MisroutedDatabaseError`) instead of served.
 */
function ownedBy(tenantId: string, client: DatabaseClient, db: Database, verified: WeakSet<DatabaseClient>): Database {
  const check = async () => {
    await assertTenantDatabase(db, tenantId);
    verified.add(client);
  };
  // Once checked, a call goes straight through (no promise of its own): this is on every database call.
  return {
    execute: (statement, intent) =>
      verified.has(client) ? db.execute(statement, intent) : check().then(() => db.execute(statement, intent)),
    batch: (statements, intent) =>
      verified.has(client) ? db.batch(statements, intent) : check().then(() => db.batch(statements, intent)),
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
