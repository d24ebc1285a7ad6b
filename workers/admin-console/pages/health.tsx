/** @jsxImportSource hono/jsx */
import type { BreakerSnapshot } from "../../../shared/db/circuit-breaker";
import type { AlertRulesAnswer } from "../../ops/alert-rules";
import type { healthReport, Readiness } from "../../ops/health";
import { AdminFrame, Badge, Facts } from "./frame";

type Health = Awaited<ReturnType<typeof healthReport>>;

function breakerTone(state: BreakerSnapshot["state"]): "ok" | "bad" | "warn" {
  return state === "closed" ? "ok" : state === "open" ? "bad" : "warn";
}

/** `/health` and `/ready` as this isolate sees them, its breakers, and the alert rules when Prometheus is configured. */
export function HealthPage(props: {
  csrf: string;
  operator: string;
  health: Health;
  ready: Readiness;
  breakers: { database: string; snapshot: BreakerSnapshot }[];
  alerts: AlertRulesAnswer | null;
}) {
  const { health, ready } = props;
  const mgmtBreaker = health.checks.circuitBreakers.managementDb;
  return (
    <AdminFrame title="Health" section="health" csrf={props.csrf} operator={props.operator}>
      <h1>Health</h1>
      <p class="muted">
        As this Worker isolate sees it (breakers and pool are per isolate); version <code>{health.version}</code>.
      </p>
      <div class="grid">
        <section class="card" aria-labelledby="health-heading">
          <h2 id="health-heading">/health</h2>
          <Facts
            items={[
              [
                "Status",
                <Badge tone={health.status === "ok" ? "ok" : health.status === "error" ? "bad" : "warn"}>
                  {health.status}
                </Badge>,
              ],
              [
                "Management DB",
                <>
                  <Badge tone={health.checks.managementDb === "ok" ? "ok" : "bad"}>{health.checks.managementDb}</Badge>{" "}
                  {health.latencyMs.managementDb} ms
                </>,
              ],
              [
                "Pool",
                `${health.checks.pool.available} of ${health.checks.pool.max} free, ${health.checks.pool.waiting} waiting`,
              ],
              ["MCP sessions", health.checks.mcpSessions === null ? "unknown" : String(health.checks.mcpSessions)],
            ]}
          />
        </section>
        <section class="card" aria-labelledby="ready-heading">
          <h2 id="ready-heading">/ready</h2>
          <Facts
            items={[
              ["Ready", <Badge tone={ready.ready ? "ok" : "bad"}>{ready.ready ? "ready" : "not ready"}</Badge>],
              ["Reason", ready.reason ?? "—"],
            ]}
          />
        </section>
        <section class="card" aria-labelledby="breakers-heading">
          <h2 id="breakers-heading">Circuit breakers</h2>
          <Facts
            items={[
              [
                "Management DB",
                <>
                  <Badge tone={breakerTone(mgmtBreaker.state)}>{mgmtBreaker.state.replace("_", "-")}</Badge>{" "}
                  {mgmtBreaker.consecutiveFailures} failures in a row, opened {mgmtBreaker.opens} times
                </>,
              ],
              [
                "Tenant DBs",
                `${health.checks.circuitBreakers.tenantDb.tracked} tracked, ${health.checks.circuitBreakers.tenantDb.open} open, ${health.checks.circuitBreakers.tenantDb.halfOpen} half-open`,
              ],
            ]}
          />
          {props.breakers.length > 0 ? (
            <ul>
              {props.breakers.map((breaker) => (
                <li>
                  <a href={`/admin/tenants/${encodeURIComponent(breaker.database)}`}>{breaker.database}</a>:{" "}
                  <Badge tone={breakerTone(breaker.snapshot.state)}>{breaker.snapshot.state.replace("_", "-")}</Badge>
                </li>
              ))}
            </ul>
          ) : null}
        </section>
      </div>
      <section class="card" aria-labelledby="alerts-heading">
        <h2 id="alerts-heading">Alert rules</h2>
        <AlertRules alerts={props.alerts} />
      </section>
    </AdminFrame>
  );
}

function AlertRules(props: { alerts: AlertRulesAnswer | null }) {
  const { alerts } = props;
  if (!alerts) {
    return (
      <p>
        No Prometheus is configured. Set <code>PROMETHEUS_URL</code> to see each alert's state here (docs/admin-api.md).
      </p>
    );
  }
  if ("error" in alerts) return <p class="alert">{alerts.error}</p>;
  const firing = alerts.rules.filter((rule) => rule.state === "firing").length;
  return (
    <>
      <p role="status">
        {alerts.rules.length} alerts, {firing} firing.
      </p>
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">Alert</th>
              <th scope="col">Severity</th>
              <th scope="col">State</th>
              <th scope="col">Active</th>
              <th scope="col">Summary</th>
            </tr>
          </thead>
          <tbody>
            {alerts.rules.map((rule) => (
              <tr>
                <td>{rule.name}</td>
                <td>{rule.severity ?? "—"}</td>
                <td>
                  <Badge tone={rule.state === "firing" ? "bad" : rule.state === "pending" ? "warn" : "ok"}>
                    {rule.state}
                  </Badge>
                </td>
                <td>{rule.active}</td>
                <td>{rule.summary ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
