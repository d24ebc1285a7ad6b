import { expect } from "vitest";
import { METRICS_AUTH, workerFetch } from "./support";

/** One authorised scrape of `/metrics` through the Worker, as Prometheus makes it. */
export async function scrape(): Promise<string> {
  const response = await workerFetch(`/metrics`, { headers: METRICS_AUTH });
  expect(response.status).toBe(200);
  return response.text();
}

/** The value of one exact series in a scrape, or undefined when the scrape lacks it. */
export function sampleValue(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** The body of `GET /health`, as the runbook reads it. */
export interface HealthBody {
  status: string;
  version: string;
  checks: {
    managementDb: string;
    circuitBreakers: { managementDb: Record<string, unknown>; tenantDb: Record<string, number> };
    pool: { size: number; max: number; available: number };
    mcpSessions: number | null;
  };
  latencyMs: { managementDb: number };
}
