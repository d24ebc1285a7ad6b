/** @jsxImportSource hono/jsx */
import type { Plan, PlanLimits } from "../../../shared/plans";
import type { UsageCharts } from "../../../shared/usage-days";
import { BarChart, LineChart } from "../ui/chart";
import { Layout, type Viewer } from "../ui/layout";
import { formatCount } from "../ui/numbers";

export interface MonthSoFar {
  plan: Plan;
  limits: PlanLimits;
  /** `2026-12`, UTC. */
  period: string;
  toolCalls: number;
  toolCallLimit: number | null;
  resetsAt: string;
  requests: number;
  rateLimited: number;
  quotaExceeded: number;
  rateWindow: { used: number; limit: number; windowSeconds: number };
  memories: number;
  activeSessions: number;
}

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

function monthName(period: string): string {
  const [year, month] = period.split("-");
  return `${MONTHS[Number(month) - 1] ?? period} ${year}`;
}

function Meter(props: {
  label: string;
  used: number;
  limit: number | null;
  warnAt: number;
  id: string;
  note?: string;
}) {
  const { used, limit } = props;
  const near = limit !== null && used >= limit * props.warnAt;
  return (
    <li>
      <span class="label" id={`${props.id}-label`}>
        {props.label}
      </span>
      <span class="figure">
        {formatCount(used)}
        <span class="muted"> {limit === null ? "of unlimited" : `of ${formatCount(limit)}`}</span>
      </span>
      {limit !== null ? (
        <meter
          aria-labelledby={`${props.id}-label`}
          min={0}
          max={limit}
          value={Math.min(used, limit)}
          low={limit * props.warnAt}
          high={limit * props.warnAt}
          optimum={0}
        />
      ) : null}
      {near ? <span class="warn">{`Nearly used up (${Math.round((used / (limit ?? 1)) * 100)} %).`}</span> : null}
      {props.note ? <span class="muted">{props.note}</span> : null}
    </li>
  );
}

function Figure(props: { label: string; value: number; note?: string }) {
  return (
    <li>
      <span class="label">{props.label}</span>
      <span class="figure">{formatCount(props.value)}</span>
      {props.note ? <span class="muted">{props.note}</span> : null}
    </li>
  );
}

export function UsagePage(props: { viewer: Viewer; month: MonthSoFar; charts: UsageCharts; warnAt: number }) {
  const { month, charts } = props;
  return (
    <Layout title="Usage" viewer={props.viewer} section="usage">
      <h1>Usage</h1>
      <p>
        {monthName(month.period)} so far (UTC), on the <strong>{month.plan}</strong> plan.{" "}
        <a href="/app/billing">Plan and billing</a>
      </p>
      <h2 id="month-heading">This month</h2>
      <ul class="stats" aria-labelledby="month-heading">
        <Meter
          id="tool-calls"
          label="Tool calls"
          used={month.toolCalls}
          limit={month.toolCallLimit}
          warnAt={props.warnAt}
          note={`Resets ${month.resetsAt.slice(0, 10)}.`}
        />
        <Meter
          id="rate"
          label={`Requests in the last ${month.rateWindow.windowSeconds} s`}
          used={month.rateWindow.used}
          limit={month.rateWindow.limit}
          warnAt={props.warnAt}
        />
        <Figure label="Requests admitted this month" value={month.requests} />
        <Figure label="Memories stored" value={month.memories} />
        <Meter
          id="sessions"
          label="Active MCP sessions"
          used={month.activeSessions}
          limit={month.limits.sessions}
          warnAt={props.warnAt}
          note="Beyond the cap, the least recently used session is closed."
        />
        <Figure
          label="Refused by the rate limit"
          value={month.rateLimited}
          note={month.quotaExceeded > 0 ? `and ${formatCount(month.quotaExceeded)} by the monthly quota` : undefined}
        />
      </ul>
      <h2>Last {charts.toolCalls.days.length} days</h2>
      <p class="muted">
        Per UTC day. Requests are API and MCP requests made with a key or an app; they reach these charts within
        seconds.
      </p>
      <BarChart id="chart-tools" title="Tool calls by tool" unit="tool calls" {...charts.toolCalls} />
      <BarChart
        id="chart-status"
        title="Requests by status"
        unit="requests"
        palette={[2, 0, 1, 3, 4, 5]}
        {...charts.requests}
      />
      <LineChart id="chart-latency" title="Latency, p50 and p95" unit="ms" {...charts.latency} />
    </Layout>
  );
}
