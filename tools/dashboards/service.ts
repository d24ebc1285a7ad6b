import { DashboardBuilder, DashboardCursorSync, RowBuilder } from "@grafana/grafana-foundation-sdk/dashboard";
import { graph, prometheusVariable, promql, stat } from "./panels";

const RATE = "$__rate_interval";

/** Latency quantiles of a histogram, by `by`. */
const quantiles = (metric: string, by: string, selector = 'job="muninn"') =>
  [0.5, 0.95, 0.99].map((q, i) =>
    promql(
      `histogram_quantile(${q}, sum by (le, ${by}) (rate(${metric}_bucket{${selector}}[${RATE}])))`,
      `p${q * 100} {{${by}}}`,
      String.fromCharCode(65 + i),
    ),
  );

/** Service: is Muninn Cloud healthy right now, and where is it not. */
export function serviceDashboard() {
  return new DashboardBuilder("Muninn Cloud · Service")
    .uid("muninn-service")
    .tags(["muninn"])
    .description(
      "Requests, errors, latency, databases, sessions and webhooks (ops/prometheus/alerts.yml alerts on these).",
    )
    .refresh("30s")
    .time({ from: "now-6h", to: "now" })
    .tooltip(DashboardCursorSync.Crosshair)
    .withVariable(prometheusVariable())
    .withRow(new RowBuilder("Health"))
    .withPanel(stat("Ready (/ready)", promql('min(muninn_ready{job="muninn"})'), { description: "1 = ready" }))
    .withPanel(
      stat("Management DB reachable", promql('min(management_db_up{job="muninn"})'), {
        description: "1 = SELECT 1 answered",
      }),
    )
    .withPanel(stat("Scrape up", promql('min(up{job="muninn"})')))
    .withPanel(stat("Active MCP sessions", promql('sum(mcp_active_sessions{job="muninn"})')))
    .withRow(new RowBuilder("Requests"))
    .withPanel(
      graph(
        "Requests by status",
        [promql(`sum by (status) (rate(http_requests_total{job="muninn"}[${RATE}]))`, "{{status}}")],
        { unit: "reqps" },
      ),
    )
    .withPanel(
      graph(
        "5xx error ratio by route",
        [
          promql(
            `sum by (route) (rate(http_requests_total{job="muninn",status=~"5.."}[${RATE}])) / sum by (route) (rate(http_requests_total{job="muninn"}[${RATE}]))`,
            "{{route}}",
          ),
        ],
        {
          unit: "percentunit",
          min: 0,
          description: "HighErrorRatio pages above 5 % of all requests, ElevatedErrorRatio warns above 1 %.",
        },
      ),
    )
    .withPanel(
      graph("Latency p50 / p95 / p99 by route", quantiles("http_request_duration_seconds", "route"), {
        unit: "s",
        width: 24,
      }),
    )
    .withPanel(
      graph(
        "MCP requests by JSON-RPC method",
        [promql(`sum by (method) (rate(mcp_requests_total{job="muninn"}[${RATE}]))`, "{{method}}")],
        { unit: "reqps" },
      ),
    )
    .withPanel(
      graph(
        "Refusals by plan (rate limit, quota)",
        [
          promql(`sum by (plan) (rate(rate_limited_total{job="muninn"}[${RATE}]))`, "rate limit {{plan}}", "A"),
          promql(`sum by (plan) (rate(quota_exceeded_total{job="muninn"}[${RATE}]))`, "quota {{plan}}", "B"),
        ],
        { unit: "reqps" },
      ),
    )
    .withRow(new RowBuilder("Databases"))
    .withPanel(
      graph(
        "Circuit breaker state (0 closed, 1 half-open, 2 open)",
        [promql('max by (target) (circuit_breaker_state{job="muninn"})', "{{target}}")],
        { min: 0, max: 2 },
      ),
    )
    .withPanel(
      graph("Breaker openings and connection failures", [
        promql(
          `sum by (target) (increase(circuit_breaker_transitions_total{job="muninn",to="open"}[${RATE}]))`,
          "opened {{target}}",
          "A",
        ),
        promql(
          `sum by (target) (increase(db_connection_failures_total{job="muninn"}[${RATE}]))`,
          "failures {{target}}",
          "B",
        ),
      ]),
    )
    .withPanel(
      graph(
        "Pool use: database calls in flight, service-wide",
        [
          promql(
            `sum by (target) (rate(db_query_duration_seconds_sum{job="muninn"}[${RATE}]))`,
            "in flight {{target}}",
            "A",
          ),
          promql(
            `sum by (target) (rate(db_pool_exhausted_total{job="muninn"}[${RATE}]))`,
            "refused {{target}} /s",
            "B",
          ),
        ],
        {
          description:
            "Seconds of database calls per second = average calls in flight (Little's law), across isolates; each isolate's own pool is in /health. Refused: no slot within DB_TIMEOUT_MS (503).",
        },
      ),
    )
    .withPanel(
      graph("Database latency p50 / p95 / p99", quantiles("db_query_duration_seconds", "target"), { unit: "s" }),
    )
    .withRow(new RowBuilder("Sessions, webhooks, Durable Objects"))
    .withPanel(
      graph("MCP sessions", [
        promql('sum(mcp_active_sessions{job="muninn"})', "active", "A"),
        promql(`sum(rate(mcp_sessions_created_total{job="muninn"}[${RATE}])) * 60`, "created / min", "B"),
        promql(
          `sum by (reason) (rate(mcp_sessions_closed_total{job="muninn"}[${RATE}])) * 60`,
          "closed {{reason}} / min",
          "C",
        ),
      ]),
    )
    .withPanel(
      graph("Stripe webhooks by outcome", [
        promql(`sum by (outcome) (increase(stripe_webhooks_total{job="muninn"}[${RATE}]))`, "{{outcome}}", "A"),
        promql('max(billing_drift_tenants{job="muninn"})', "tenants drifted (daily)", "B"),
      ]),
    )
    .withPanel(
      graph("Durable Object errors", [
        promql(
          `sum by (object, operation) (increase(durable_object_errors_total{job="muninn"}[${RATE}]))`,
          "{{object}} {{operation}}",
        ),
      ]),
    )
    .withPanel(
      stat("Build", promql('max by (version) (muninn_build_info{job="muninn"})', "{{version}}"), {
        description: "The deployed VERSION",
      }),
    );
}
