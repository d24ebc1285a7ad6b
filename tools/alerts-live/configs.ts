/**
 * The configurations `npm run alerts:live` runs Debian's Prometheus and
 * Alertmanager with, derived from the production files in ops/ so that what
 * is seen firing is what production evaluates: the same expressions, the
 * same routing and inhibitions, only faster.
 */
import { parse, stringify } from "yaml";

/** A Prometheus duration (`90s`, `5m`, `1h`, `1h30m`) in seconds. */
export function durationSeconds(text: string): number {
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) throw new Error(`not a duration: ${text}`);
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 } as const;
  return parts.reduce((sum, [, n, u]) => sum + Number(n) * unit[u as keyof typeof unit], 0);
}

/** Seconds as a Prometheus duration, whole seconds (at least 1 s). */
function secondsText(seconds: number): string {
  return `${Math.max(1, Math.round(seconds))}s`;
}

/**
 * The rule file with every time span divided by `factor`: each `for:` and
 * each range selector (`[5m]`), so a rule keeps its shape (a window still
 * shorter than its `for:`, and so on) on a clock running `factor` times
 * faster. Thresholds and expressions are untouched.
 */
export function compressRules(rulesYaml: string, factor: number): string {
  const doc = parse(rulesYaml) as { groups: { rules: { expr: string; for?: string }[] }[] };
  for (const group of doc.groups) {
    for (const rule of group.rules) {
      if (rule.for) rule.for = secondsText(durationSeconds(rule.for) / factor);
      rule.expr = rule.expr.replace(
        /\[(\w+)\]/g,
        (_, span: string) => `[${secondsText(durationSeconds(span) / factor)}]`,
      );
    }
  }
  return stringify(doc);
}

export interface LivePrometheusOptions {
  rulesFile: string;
  /** host:port of the Worker. */
  target: string;
  tokenFile: string;
  alertmanager: string;
  intervalSeconds: number;
}

/** Prometheus scraping the local Worker as production scrapes the real one (job, path, bearer token file). */
export function livePrometheusConfig(options: LivePrometheusOptions): string {
  const interval = `${options.intervalSeconds}s`;
  return stringify({
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    rule_files: [options.rulesFile],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [options.alertmanager] }] }] },
    scrape_configs: [
      {
        job_name: "muninn",
        scheme: "http",
        metrics_path: "/metrics",
        authorization: { type: "Bearer", credentials_file: options.tokenFile },
        static_configs: [{ targets: [options.target] }],
      },
    ],
  });
}

interface AlertmanagerConfig {
  global?: Record<string, unknown>;
  route: Record<string, unknown>;
  receivers: { name: string }[];
  templates?: string[];
  [key: string]: unknown;
}

/**
 * The production Alertmanager configuration with its route tree and
 * inhibitions kept, each receiver replaced by a webhook to `webhookBase/<receiver name>`
 * (PagerDuty and Slack are not called from a local run), and its grouping
 * waits shortened.
 */
export function liveAlertmanagerConfig(productionYaml: string, webhookBase: string): string {
  const doc = parse(productionYaml) as AlertmanagerConfig;
  doc.receivers = doc.receivers.map(({ name }) => ({
    name,
    webhook_configs: [{ url: `${webhookBase}/${name}`, send_resolved: true }],
  }));
  doc.route = { ...doc.route, group_wait: "1s", group_interval: "2s", repeat_interval: "1h" };
  doc.global = { resolve_timeout: "1m" };
  delete doc.templates;
  return stringify(doc);
}
