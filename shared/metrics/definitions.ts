/**
 * Every metric the service exposes, with its Prometheus type and help text.
 * Recording an undeclared name is a programming error caught in tests, so the
 * exposition never grows series nobody documented.
 */
export type MetricType = "counter" | "gauge" | "histogram";

export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

export const METRICS = {
  http_requests_total: { type: "counter", help: "HTTP requests by method, route and status." },
  http_request_duration_seconds: { type: "histogram", help: "HTTP request duration by method and route." },
  tenant_requests_total: {
    type: "counter",
    help: "Authenticated requests per tenant and status (the largest series; /metrics?tenant=ID for one tenant).",
    perTenant: true,
  },
  mcp_requests_total: { type: "counter", help: "MCP JSON-RPC requests by method and status." },
  mcp_active_sessions: { type: "gauge", help: "Active legacy-era MCP sessions, all tenants." },
  mcp_tenant_active_sessions: {
    type: "gauge",
    help: "Active legacy-era MCP sessions per tenant (the largest series; /metrics?tenant=ID for one tenant).",
    perTenant: true,
  },
  mcp_sessions_created_total: { type: "counter", help: "MCP sessions created." },
  mcp_sessions_closed_total: {
    type: "counter",
    help: "MCP sessions closed, by reason (delete, idle, lifetime, cap, admin, rejected).",
  },
  rate_limited_total: { type: "counter", help: "Requests refused by the rate limit, by plan." },
  quota_exceeded_total: { type: "counter", help: "Tool calls refused because the monthly quota was used up." },
  tenant_quota_used: {
    type: "gauge",
    help: "Tool calls used this month per tenant (the largest series; /metrics?tenant=ID for one tenant).",
    perTenant: true,
  },
  tenant_quota_limit: {
    type: "gauge",
    help: "Monthly tool-call limit per tenant, absent when unlimited (the largest series; /metrics?tenant=ID).",
    perTenant: true,
  },
  circuit_breaker_state: {
    type: "gauge",
    help: "Last reported breaker state per target: 0 closed, 1 half-open, 2 open.",
  },
  circuit_breaker_transitions_total: { type: "counter", help: "Breaker state changes by target and new state." },
  circuit_breaker_half_open_total: { type: "counter", help: "Half-open probes by target and result." },
  db_connection_failures_total: {
    type: "counter",
    help: "Database calls that failed to connect or answer, by target.",
  },
  tenant_db_connection_failures_total: {
    type: "counter",
    help: "Tenant database calls that failed to connect or answer, per tenant (the largest series; /metrics?tenant=ID).",
    perTenant: true,
  },
  db_query_duration_seconds: {
    type: "histogram",
    help: "Database call duration as callers see it (pool wait, retries included), by target.",
  },
  db_pool_exhausted_total: {
    type: "counter",
    help: "Database calls refused because no pool slot came free in time (503), by target.",
  },
  management_db_up: {
    type: "gauge",
    help: "1 when the isolate answering the scrape reached the management database (SELECT 1), else 0.",
  },
  muninn_ready: { type: "gauge", help: "1 when /ready would answer 200 in the isolate answering the scrape, else 0." },
  durable_object_errors_total: {
    type: "counter",
    help: "Durable Object calls that threw, by object (tenant, metrics, ip_limiter) and operation.",
  },
  stripe_webhooks_total: { type: "counter", help: "Stripe webhook deliveries by event type and outcome." },
  billing_grace_expired_total: {
    type: "counter",
    help: "Tenants returned to the free plan because their payment grace period ended.",
  },
  billing_drift_tenants: {
    type: "gauge",
    help: "Tenants whose plan or subscription differed from Stripe's at the last daily reconciliation.",
  },
  muninn_build_info: { type: "gauge", help: "Build information; the value is always 1." },
} as const satisfies Record<string, { type: MetricType; help: string; perTenant?: true }>;

export type MetricName = keyof typeof METRICS;
