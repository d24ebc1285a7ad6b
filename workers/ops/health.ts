import { Hono } from "hono";
import { describeError } from "../../shared/logging";
import type { AppEnv } from "../types";

/** Liveness and readiness. Both ask the management DB for real. */
export const health = new Hono<AppEnv>();

async function checkManagementDb(c: { var: AppEnv["Variables"] }) {
  const started = Date.now();
  try {
    await c.var.services.mgmtDb.execute("SELECT 1");
    return { ok: true as const, latencyMs: Date.now() - started };
  } catch (error) {
    c.var.logger.error("Cannot connect to management database", describeError(error));
    return { ok: false as const, latencyMs: Date.now() - started };
  }
}

health.get("/health", async (c) => {
  const mgmt = await checkManagementDb(c);
  const status = mgmt.ok ? "ok" : "error";
  return c.json(
    {
      status,
      checks: { managementDb: mgmt.ok ? "ok" : "error" },
      latencyMs: { managementDb: mgmt.latencyMs },
    },
    mgmt.ok ? 200 : 503,
  );
});

health.get("/ready", async (c) => {
  const mgmt = await checkManagementDb(c);
  if (mgmt.ok) return c.json({ ready: true });
  return c.json({ ready: false, reason: "management database unreachable" }, 503);
});
