import { Hono } from "hono";
import type { BreakerSnapshot } from "../../shared/db/circuit-breaker";
import { describeError } from "../../shared/logging";
import type { Services } from "../services";
import type { AppEnv } from "../types";
import { activeSessions } from "./telemetry";

/**
 * `/health` and `/ready`. Both really ask the management DB (`SELECT 1` on
 * a client outside the breaker, so they report the database as it is even
 * while a breaker still holds traffic back).
 */
export const health = new Hono<AppEnv>();

interface ManagementCheck {
  ok: boolean;
  latencyMs: number;
}

async function checkManagementDb(services: Services, logger: AppEnv["Variables"]["logger"]): Promise<ManagementCheck> {
  const started = Date.now();
  try {
    await services.mgmtDbProbe.execute("SELECT 1", "read");
    return { ok: true, latencyMs: Date.now() - started };
  } catch (error) {
    logger.error("Cannot connect to management database", describeError(error));
    return { ok: false, latencyMs: Date.now() - started };
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
  const services = c.var.services;
  const started = Date.now();
  const [mgmt, sessions] = await Promise.all([
    checkManagementDb(services, c.var.logger),
    activeSessions(c.env)
      .then((count) => count as number | null)
      .catch((error: unknown) => {
        c.var.logger.warn("session count unavailable", describeError(error));
        return null;
      }),
  ]);
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

health.get("/ready", async (c) => {
  const services = c.var.services;
  const mgmt = await checkManagementDb(services, c.var.logger);
  if (!mgmt.ok) return c.json({ ready: false, reason: "management database unreachable" }, 503);
  if (services.mgmtBreaker.state === "open") {
    return c.json({ ready: false, reason: "management database circuit breaker is open" }, 503);
  }
  return c.json({ ready: true });
});
