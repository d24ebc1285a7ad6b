import { METRICS, type MetricName } from "./definitions";

/** The metric a series belongs to (`http_request_duration_seconds_bucket{…}` → the histogram). */
function familyOf(series: string): MetricName | undefined {
  const name = series.split("{")[0] ?? series;
  if (name in METRICS) return name as MetricName;
  const base = name.replace(/_(bucket|sum|count)$/, "");
  return base in METRICS ? (base as MetricName) : undefined;
}

function formatValue(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return Number(value.toPrecision(12)).toString();
}

/**
 * Render series values as Prometheus text exposition (version 0.0.4), grouped
 * by metric with HELP and TYPE. Every declared metric is listed even before it
 * has a sample, so an operator can see what exists (and grep finds its TYPE).
 */
export function renderExposition(values: Map<string, number>): string {
  const families = new Map<MetricName, string[]>();
  for (const [series, value] of values) {
    const family = familyOf(series);
    if (!family) continue;
    let lines = families.get(family);
    if (!lines) {
      lines = [];
      families.set(family, lines);
    }
    lines.push(`${series} ${formatValue(value)}`);
  }
  const out: string[] = [];
  for (const name of Object.keys(METRICS) as MetricName[]) {
    out.push(`# HELP ${name} ${METRICS[name].help}`, `# TYPE ${name} ${METRICS[name].type}`);
    out.push(...(families.get(name) ?? []));
  }
  return `${out.join("\n")}\n`;
}
