/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { render } from "../../console/render";
import { readAlertRules } from "../../ops/alert-rules";
import { healthReport, readiness } from "../../ops/health";
import { type AdminEnv, operator } from "../context";
import { HealthPage } from "../pages/health";

/** `/admin/health`: the same checks as `/health` and `/ready`, breakers by tenant, and the alert rules. */
export const adminHealth = new Hono<AdminEnv>();

adminHealth.get("/admin/health", async (c) => {
  const services = c.get("services");
  const logger = c.get("logger");
  const [health, ready, alerts] = await Promise.all([
    healthReport(services, c.env, logger),
    readiness(services, c.env, logger),
    services.config.prometheusUrl ? readAlertRules(services.config.prometheusUrl, logger) : null,
  ]);
  const breakers = services
    .tenantBreakers()
    .map((breaker) => ({ database: breaker.database, snapshot: breaker.snapshot() }))
    .filter((breaker) => breaker.snapshot.state !== "closed");
  return render(
    c,
    <HealthPage
      csrf={c.get("csrf")}
      operator={operator(c).name}
      health={health}
      ready={ready}
      breakers={breakers}
      alerts={alerts}
    />,
  );
});
