import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { compressRules, durationSeconds } from "../../tools/alerts-live/configs";
import { documentedQueries } from "../../tools/dashboards/analytics";
import { renderDashboards } from "../../tools/dashboards/build";
import { freePort } from "../../tools/free-port";
import { type LocalStack, repoRoot, startLocalStack } from "../../tools/local-stack";
import { promqlMetricNames } from "../../tools/promql";

/** Series Prometheus makes itself for every target, not the Worker. */
const SYNTHETIC = new Set(["up"]);

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");
}

/** docs/runbook.md's sections by anchor, each with its text up to the next heading of any level. */
function runbookSections(markdown: string): Map<string, string> {
  const sections = new Map<string, string>();
  const parts = markdown.split(/^(#{2,3} .*)$/m);
  for (let i = 1; i < parts.length; i += 2) {
    sections.set(anchorOf((parts[i] as string).replace(/^#+ /, "")), parts[i + 1] ?? "");
  }
  return sections;
}

async function alertRules(): Promise<Rule[]> {
  const text = await readFile(join(repoRoot, "ops/prometheus/alerts.yml"), "utf8");
  const doc = parse(text) as { groups: { rules: Rule[] }[] };
  return doc.groups.flatMap((group) => group.rules);
}

/** Every PromQL expression of the committed dashboards. */
async function dashboardExpressions(): Promise<{ dashboard: string; expr: string }[]> {
  const found: { dashboard: string; expr: string }[] = [];
  const visit = (dashboard: string, node: unknown): void => {
    if (Array.isArray(node)) for (const item of node) visit(dashboard, item);
    else if (node && typeof node === "object") {
      const record = node as Record<string, unknown>;
      const type = (record.datasource as { type?: string } | undefined)?.type;
      if (typeof record.expr === "string" && type === "prometheus") found.push({ dashboard, expr: record.expr });
      if (typeof record.query === "string" && record.type === "query" && type === "prometheus") {
        found.push({ dashboard, expr: record.query.replace(/^label_values\((.*),\s*\w+\)$/, "$1") });
      }
      for (const value of Object.values(record)) visit(dashboard, value);
    }
  };
  for (const file of ["service.json", "tenant.json", "analytics-engine.json"]) {
    visit(file, JSON.parse(await readFile(join(repoRoot, "ops/grafana", file), "utf8")));
  }
  return found;
}

describe("PromQL metric names", () => {
  it("finds the metrics of an expression and nothing else", () => {
    expect(
      promqlMetricNames(
        'histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket{job="muninn",route=~"/mcp|x"}[$__rate_interval])))',
      ),
    ).toEqual(["http_request_duration_seconds_bucket"]);
    expect(
      promqlMetricNames(
        'delta(mcp_active_sessions{job="muninn"}[1h]) > 20 unless on (job) sum by (job) (increase(mcp_sessions_closed_total{reason=~"idle"}[1h])) > 0',
      ),
    ).toEqual(["mcp_active_sessions", "mcp_sessions_closed_total"]);
    expect(promqlMetricNames("min(up) and muninn_ready == 0")).toEqual(["up", "muninn_ready"]);
  });
});

describe("the live rules of npm run alerts:live", () => {
  it("divides every for: and range window, and nothing else", () => {
    expect(durationSeconds("1h30m")).toBe(5400);
    const rules =
      "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: increase(x[10m]) > 5\n        for: 15m\n";
    const fast = parse(compressRules(rules, 20)) as { groups: { rules: Rule[] }[] };
    expect(fast.groups[0]?.rules[0]).toEqual({ alert: "A", expr: "increase(x[30s]) > 5", for: "45s" });
  });
});

describe("alerts and dashboards against the service's /metrics", () => {
  let stack: LocalStack;
  let stateDir: string;
  let exported: Set<string>;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "muninn-ops-metrics-"));
    stack = await startLocalStack({ port: await freePort(), libsqlPort: await freePort(), stateDir });
    const response = await fetch(`${stack.info.baseUrl}/metrics`, {
      headers: { authorization: `Bearer ${stack.info.metricsToken}` },
    });
    expect(response.status).toBe(200);
    exported = new Set();
    for (const [, name, type] of (await response.text()).matchAll(/^# TYPE (\w+) (\w+)$/gm)) {
      exported.add(name as string);
      if (type === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) exported.add(`${name}${suffix}`);
    }
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it("every metric an alert rule reads is exported", async () => {
    const rules = await alertRules();
    expect(rules.length).toBeGreaterThanOrEqual(10);
    for (const rule of rules) {
      const names = promqlMetricNames(rule.expr);
      expect(names.length, rule.alert).toBeGreaterThan(0);
      for (const name of names) expect(exported.has(name) || SYNTHETIC.has(name), `${rule.alert}: ${name}`).toBe(true);
    }
  });

  it("every metric a dashboard panel or variable reads is exported", async () => {
    const expressions = await dashboardExpressions();
    expect(expressions.length).toBeGreaterThan(20);
    for (const { dashboard, expr } of expressions) {
      for (const name of promqlMetricNames(expr)) {
        expect(exported.has(name) || SYNTHETIC.has(name), `${dashboard}: ${name} in ${expr}`).toBe(true);
      }
    }
  });
});

describe("alert rules and the runbook", () => {
  it("give every alert a severity, a summary, and a runbook section that names it back", async () => {
    const sections = runbookSections(await readFile(join(repoRoot, "docs/runbook.md"), "utf8"));
    for (const rule of await alertRules()) {
      expect(["critical", "warning"], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      const url = rule.annotations?.runbook_url ?? "";
      expect(url, rule.alert).toMatch(/^docs\/runbook\.md#[\w-]+$/);
      const section = sections.get(url.split("#")[1] as string);
      expect(section, `${rule.alert}: ${url} is no section of docs/runbook.md`).toBeDefined();
      expect(section, `${url} does not name ${rule.alert}`).toContain(`\`${rule.alert}\``);
    }
  });
});

describe("dashboards as code", () => {
  it("show docs/analytics.md's queries on the Analytics Engine dashboard, and the committed JSON is current", async () => {
    const queries = documentedQueries(await readFile(join(repoRoot, "docs/analytics.md"), "utf8"));
    expect(queries.length).toBeGreaterThanOrEqual(5);
    const rendered = await renderDashboards();
    const analytics = JSON.parse(rendered.get("analytics-engine.json") as string) as {
      panels: { title: string; targets: { query: string }[] }[];
    };
    expect(analytics.panels.map((panel) => panel.title)).toEqual(queries.map((query) => query.title));
    for (const [file, text] of rendered) {
      expect(await readFile(join(repoRoot, "ops/grafana", file), "utf8"), file).toBe(text);
    }
  });
});
