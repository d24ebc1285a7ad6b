import { Hono } from "hono";
import type { BreakerSnapshot } from "../../shared/db/circuit-breaker";
import { describeError, type Logger } from "../../shared/logging";
import type { Services } from "../services";
import type { AppEnv } from "../types";
import { activeSessions } from "./telemetry";

/**
 * `/health` and `/ready`. Both really ask the management DB (`SELECT 1` on
 * a client outside the breaker, so they report the database as it is even
 * while a breaker still holds traffic back).
 *
 * They are unauthenticated, so their checks are cached per isolate for
 * `HEALTH_CACHE_MS` (default 2 s): however much anonymous traffic arrives,
 * an isolate asks the management DB and the metrics object at most once per
 * interval. Breakers and pool are read live, since they cost nothing.
 */
export const health = new Hono<AppEnv>();

interface Checks {
  managementDb: { ok: boolean; latencyMs: number };
  /** Active MCP sessions across tenants, or null when the metrics object did not answer. */
  sessions: number | null;
  checkedAt: number;
}

/**
 * Per isolate (per `Services`), a plain value and a timestamp — never a
 * shared promise: a promise created by one request cannot be awaited by
 * another in Workers, so concurrent callers during a refresh reuse the last
 * value, or poll for the first one.
 */
interface CheckCache {
  value: Checks | null;
  refreshingSince: number | null;
}
const caches = new WeakMap<Services, CheckCache>();
const POLL_MS = 5;

async function runChecks(services: Services, env: Env, logger: Logger): Promise<Checks> {
  const started = Date.now();
  const [managementDb, sessions] = await Promise.all([
    services.mgmtDbProbe.execute("SELECT 1", "read").then(
      () => ({ ok: true, latencyMs: Date.now() - started }),
      (error: unknown) => {
        logger.error("Cannot connect to management database", describeError(error));
        return { ok: false, latencyMs: Date.now() - started };
      },
    ),
    activeSessions(env)
      .then((count) => count as number | null)
      .catch((error: unknown) => {
        logger.warn("session count unavailable", describeError(error));
        return null;
      }),
  ]);
  return { managementDb, sessions, checkedAt: Date.now() };
}

async function checks(services: Services, env: Env, logger: Logger): Promise<Checks> {
  const ttl = services.config.healthCacheMs;
  if (ttl === 0) return runChecks(services, env, logger);
  let cache = caches.get(services);
  if (!cache) {
    cache = { value: null, refreshingSince: null };
    caches.set(services, cache);
  }
  const deadline = Date.now() + services.config.dbTimeoutMs;
  for (;;) {
    const now = Date.now();
    if (cache.value && now - cache.value.checkedAt < ttl) return cache.value;
    // Someone is refreshing: serve the last value while it does, or wait for the first one.
    const refreshing = cache.refreshingSince !== null && now - cache.refreshingSince < services.config.dbTimeoutMs;
    if (!refreshing) break;
    if (cache.value) return cache.value;
    if (now >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  cache.refreshingSince = Date.now();
  try {
    cache.value = await runChecks(services, env, logger);
    return cache.value;
  } finally {
    cache.refreshingSince = null;
  }
}

function tenantBreakerSummary(services: Services) {
  const snapshots = services.tenantBreakers().map((breaker) => breaker.snapshot());
  return {
    tracked: snapshots.length,
    open: snapshots.filter((s) => s.state === "open").length,
    halfOpen: snapshots.filter((s) => s.state === "half_open").length,
  };
}

health.get("/health", async (c) => {
  const services = c.get("services");
  const started = Date.now();
  const { managementDb: mgmt, sessions } = await checks(services, c.env, c.get("logger"));
  const managementBreaker: BreakerSnapshot = services.mgmtBreaker.snapshot();
  const tenantBreakers = tenantBreakerSummary(services);
  const pool = services.pool.snapshot(services.clientCount());
  const degraded =
    managementBreaker.state !== "closed" || tenantBreakers.open > 0 || pool.available === 0 || sessions === null;
  const status = !mgmt.ok ? "error" : degraded ? "degraded" : "ok";
  return c.json(
    {
      status,
      version: services.config.version,
      checks: {
        managementDb: mgmt.ok ? "ok" : "error",
        circuitBreakers: { managementDb: managementBreaker, tenantDb: tenantBreakers },
        pool: { size: pool.size, max: pool.max, available: pool.available, waiting: pool.waiting },
        mcpSessions: sessions,
      },
      latencyMs: { managementDb: mgmt.latencyMs, total: Date.now() - started },
    },
    status === "error" ? 503 : 200,
  );
});

export interface Readiness {
  /** Whether `SELECT 1` on the management DB succeeded (outside the breaker). */
  managementDb: boolean;
  ready: boolean;
  reason?: string;
}

/** What `/ready` answers, also exported by `/metrics` as `muninn_ready` and `management_db_up`. */
export async function readiness(services: Services, env: Env, logger: Logger): Promise<Readiness> {
  const { managementDb: mgmt } = await checks(services, env, logger);
  if (!mgmt.ok) return { managementDb: false, ready: false, reason: "management database unreachable" };
  // Open counts only while its open period lasts: past it, the next call through the breaker is
  // its probe. Otherwise an isolate that sees no traffic after an outage would stay unready (and
  // ReadinessFailing would page) with a database that answers, until some request came by.
  const breaker = services.mgmtBreaker.snapshot();
  if (breaker.state === "open" && breaker.retryAfterMs > 0) {
    return { managementDb: true, ready: false, reason: "management database circuit breaker is open" };
  }
  return { managementDb: true, ready: true };
}

health.get("/ready", async (c) => {
  const { ready, reason } = await readiness(c.get("services"), c.env, c.get("logger"));
  return ready ? c.json({ ready: true }) : c.json({ ready: false, reason }, 503);
});
