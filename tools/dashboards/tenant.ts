import { PanelBuilder as BarChartPanel } from "@grafana/grafana-foundation-sdk/barchart";
import {
  DashboardBuilder,
  DashboardCursorSync,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
} from "@grafana/grafana-foundation-sdk/dashboard";
import {
  ANALYTICS_ENGINE,
  analyticsVariable,
  grafanaVariable,
  graph,
  PROMETHEUS,
  prometheusVariable,
  promql,
  SqlQuery,
  stat,
} from "./panels";

const RATE = "$__rate_interval";
const TENANT = 'job="muninn",tenant="$tenant"';

/**
 * Tenant: one tenant's traffic, refusals, quota and sessions. Per-tenant
 * series reach the global /metrics for the 20 largest tenants only (the
 * variable lists those; type any other id, and its series appear once it is
 * among them, or in Analytics Engine below at any size).
 */
export function tenantDashboard() {
  return new DashboardBuilder("Muninn Cloud · Tenant")
    .uid("muninn-tenant")
    .tags(["muninn"])
    .description("One tenant: requests by status, tool calls by tool, quota used against the plan, refusals, sessions.")
    .refresh("1m")
    .time({ from: "now-24h", to: "now" })
    .tooltip(DashboardCursorSync.Crosshair)
    .withVariable(prometheusVariable())
    .withVariable(analyticsVariable())
    .withVariable(
      new QueryVariableBuilder("tenant")
        .label("Tenant")
        .datasource(PROMETHEUS)
        .query('label_values(tenant_requests_total{job="muninn"}, tenant)')
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .allowCustomValue(true),
    )
    .withRow(new RowBuilder("Requests and refusals"))
    .withPanel(
      graph(
        "Requests by status",
        [promql(`sum by (status) (rate(tenant_requests_total{${TENANT}}[${RATE}]))`, "{{status}}")],
        { unit: "reqps" },
      ),
    )
    .withPanel(
      graph(
        "Refused 429 (rate limit or quota)",
        [
          promql(`sum(rate(tenant_requests_total{${TENANT},status="429"}[${RATE}]))`, "refused / s", "A"),
          promql(
            `sum(rate(tenant_requests_total{${TENANT},status="429"}[${RATE}])) / sum(rate(tenant_requests_total{${TENANT}}[${RATE}]))`,
            "share refused",
            "B",
          ),
        ],
        { description: "TenantRefusalsSpiking fires above half of the requests and 0.5/s, for 15 minutes." },
      ),
    )
    .withRow(new RowBuilder("Quota and sessions"))
    .withPanel(
      graph(
        "Tool calls this month: used and plan limit",
        [
          promql(`max(tenant_quota_used{${TENANT}})`, "used", "A"),
          promql(`max(tenant_quota_limit{${TENANT}})`, "limit", "B"),
        ],
        { min: 0 },
      ),
    )
    .withPanel(
      stat("Quota used", promql(`max(tenant_quota_used{${TENANT}}) / max(tenant_quota_limit{${TENANT}})`), {
        unit: "percentunit",
        description: "Empty when the plan is unlimited",
      }),
    )
    .withPanel(stat("Active MCP sessions", promql(`max(mcp_tenant_active_sessions{${TENANT}})`)))
    .withPanel(
      graph(
        "Database connection failures",
        [promql(`sum(increase(tenant_db_connection_failures_total{${TENANT}}[${RATE}]))`, "failures")],
        { description: "TenantDatabaseUnreachable fires when these continue for 5 minutes." },
      ),
    )
    .withRow(new RowBuilder("Tool calls (Analytics Engine)"))
    .withPanel(
      new BarChartPanel()
        .title("Tool calls by tool, last 7 days")
        .description(
          "Every request's data point in Analytics Engine (docs/analytics.md), weighted by _sample_interval.",
        )
        .datasource(ANALYTICS_ENGINE)
        .span(24)
        .height(8)
        .withTarget(
          new SqlQuery(
            [
              "SELECT blob4 AS tool, SUM(_sample_interval) AS calls",
              "FROM muninn_requests",
              `WHERE timestamp > NOW() - INTERVAL '7' DAY AND blob1 = '${grafanaVariable("tenant")}' AND blob4 != ''`,
              "GROUP BY tool",
              "ORDER BY calls DESC",
            ].join("\n"),
          ),
        ),
    );
}
