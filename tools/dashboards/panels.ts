/**
 * Shared pieces of the Grafana dashboards (ops/grafana/): the two data
 * sources as dashboard variables, and small panel helpers so each dashboard
 * file reads as a list of questions and their queries.
 */
import type * as cog from "@grafana/grafana-foundation-sdk/cog";
import type * as common from "@grafana/grafana-foundation-sdk/common";
import { DatasourceVariableBuilder } from "@grafana/grafana-foundation-sdk/dashboard";
import { DataqueryBuilder } from "@grafana/grafana-foundation-sdk/prometheus";
import { PanelBuilder as StatPanel } from "@grafana/grafana-foundation-sdk/stat";
import { PanelBuilder as TablePanel } from "@grafana/grafana-foundation-sdk/table";
import { PanelBuilder as TimeseriesPanel } from "@grafana/grafana-foundation-sdk/timeseries";

/** `${name}`: a reference to a dashboard variable, expanded by Grafana (not by JavaScript). */
export const grafanaVariable = (name: string) => `\${${name}}`;

/** The Prometheus that scrapes /metrics (ops/prometheus/prometheus.yml), chosen per Grafana instance. */
export const PROMETHEUS: common.DataSourceRef = { type: "prometheus", uid: grafanaVariable("prometheus") };

/**
 * Cloudflare Analytics Engine's SQL API through the ClickHouse data source
 * (Altinity's `vertamedia-clickhouse-datasource`, the one Cloudflare documents
 * for Grafana), URL `https://api.cloudflare.com/client/v4/accounts/<account>/analytics_engine/sql`
 * with an `Authorization: Bearer` API token that may read Analytics Engine.
 */
export const ANALYTICS_ENGINE: common.DataSourceRef = {
  type: "vertamedia-clickhouse-datasource",
  uid: grafanaVariable("analytics"),
};

export function prometheusVariable() {
  return new DatasourceVariableBuilder("prometheus").label("Prometheus").type("prometheus");
}

export function analyticsVariable() {
  return new DatasourceVariableBuilder("analytics").label("Analytics Engine").type(ANALYTICS_ENGINE.type as string);
}

/** One PromQL query (always scoped to `job="muninn"` by the caller's expression). */
export function promql(expr: string, legend = "__auto", refId = "A") {
  return new DataqueryBuilder().datasource(PROMETHEUS).expr(expr).legendFormat(legend).refId(refId);
}

/** A raw SQL query of the ClickHouse data source, as a table. The SDK has no builder for this plugin. */
export class SqlQuery implements cog.Builder<cog.Dataquery> {
  constructor(
    readonly sql: string,
    readonly refId = "A",
  ) {}

  build(): cog.Dataquery {
    const query = {
      refId: this.refId,
      datasource: ANALYTICS_ENGINE,
      query: this.sql,
      rawQuery: true,
      format: "table",
    };
    return query as unknown as cog.Dataquery;
  }
}

export interface GraphOptions {
  unit?: string;
  description?: string;
  width?: number;
  height?: number;
  min?: number;
  max?: number;
}

/** A time series panel of one or more PromQL queries. */
export function graph(title: string, queries: cog.Builder<cog.Dataquery>[], options: GraphOptions = {}) {
  const panel = new TimeseriesPanel()
    .title(title)
    .datasource(PROMETHEUS)
    .span(options.width ?? 12)
    .height(options.height ?? 8)
    .unit(options.unit ?? "short")
    .fillOpacity(10);
  if (options.description) panel.description(options.description);
  if (options.min !== undefined) panel.min(options.min);
  if (options.max !== undefined) panel.max(options.max);
  for (const query of queries) panel.withTarget(query);
  return panel;
}

/** A single-value panel. */
export function stat(title: string, query: cog.Builder<cog.Dataquery>, options: GraphOptions = {}) {
  const panel = new StatPanel()
    .title(title)
    .datasource(PROMETHEUS)
    .span(options.width ?? 6)
    .height(options.height ?? 4)
    .unit(options.unit ?? "short")
    .withTarget(query);
  if (options.description) panel.description(options.description);
  return panel;
}

/** A table of one SQL query against Analytics Engine. */
export function sqlTable(title: string, sql: string, description: string) {
  return new TablePanel()
    .title(title)
    .description(description)
    .datasource(ANALYTICS_ENGINE)
    .span(24)
    .height(9)
    .withTarget(new SqlQuery(sql));
}
