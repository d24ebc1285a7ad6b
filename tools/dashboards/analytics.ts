import { DashboardBuilder, TextBoxVariableBuilder } from "@grafana/grafana-foundation-sdk/dashboard";
import { analyticsVariable, grafanaVariable, sqlTable } from "./panels";

export interface DocumentedQuery {
  title: string;
  sql: string;
}

/**
 * The SQL queries of docs/analytics.md, each with the bold title above it:
 * the dashboard shows exactly what the document describes, so neither can
 * change without the other (`npm run lint` fails on a stale dashboard).
 */
export function documentedQueries(markdown: string): DocumentedQuery[] {
  const queries: DocumentedQuery[] = [];
  for (const match of markdown.matchAll(/^\*\*(.+?)\*\*.*\n+```sql\n([\s\S]*?)```/gm)) {
    queries.push({ title: (match[1] as string).trim(), sql: (match[2] as string).trim() });
  }
  return queries;
}

/** The document's placeholder for a tenant id, and the dashboard variable that fills it. */
const TENANT_PLACEHOLDER = "'<tenant-id>'";

/** Analytics Engine: the per-request dataset `muninn_requests`, through the SQL API. */
export function analyticsDashboard(markdown: string) {
  const queries = documentedQueries(markdown);
  if (queries.length === 0) throw new Error("docs/analytics.md: no **title** + ```sql query found");
  const dashboard = new DashboardBuilder("Muninn Cloud · Analytics Engine")
    .uid("muninn-analytics-engine")
    .tags(["muninn"])
    .description("The queries of docs/analytics.md over the muninn_requests dataset (every request, sampled).")
    .refresh("5m")
    .time({ from: "now-24h", to: "now" })
    .withVariable(analyticsVariable())
    .withVariable(new TextBoxVariableBuilder("tenant").label("Tenant id (triage query)").defaultValue(""));
  for (const { title, sql } of queries) {
    dashboard.withPanel(
      sqlTable(
        title,
        sql.replaceAll(TENANT_PLACEHOLDER, `'${grafanaVariable("tenant")}'`),
        `From docs/analytics.md: ${title}`,
      ),
    );
  }
  return dashboard;
}
