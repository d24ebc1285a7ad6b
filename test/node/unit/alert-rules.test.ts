import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readConfig } from "../../../shared/config";
import { createLogger } from "../../../shared/logging";
import { readAlertRules } from "../../../workers/ops/alert-rules";

/** A Prometheus stand-in whose `/api/v1/rules` answer each test sets. */
let answer: { status: number; body: string; headers?: Record<string, string> } = { status: 200, body: "{}" };
let server: Server;
let base: string;
const logger = createLogger({ test: "alert-rules" });

beforeAll(async () => {
  server = createServer((_req, res) =>
    res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers }).end(answer.body),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("reading the alert rules' state from Prometheus", () => {
  it("keeps alerting rules with state, severity, summary and active count; recording rules are left out", async () => {
    answer = {
      status: 200,
      body: JSON.stringify({
        status: "success",
        data: {
          groups: [
            {
              name: "muninn",
              rules: [
                {
                  type: "alerting",
                  name: "ManagementDatabaseUnreachable",
                  state: "firing",
                  health: "ok",
                  labels: { severity: "critical" },
                  annotations: { summary: "management DB down" },
                  alerts: [{}, {}],
                },
                { type: "recording", name: "job:rate5m", health: "ok" },
                { type: "alerting", name: "BillingDrift", state: "pending", health: "ok" },
              ],
            },
          ],
        },
      }),
    };
    expect(await readAlertRules(base, logger)).toEqual({
      rules: [
        {
          group: "muninn",
          name: "ManagementDatabaseUnreachable",
          state: "firing",
          severity: "critical",
          summary: "management DB down",
          active: 2,
          health: "ok",
        },
        {
          group: "muninn",
          name: "BillingDrift",
          state: "pending",
          severity: null,
          summary: null,
          active: 0,
          health: "ok",
        },
      ],
    });
  });

  it("an error status, a redirect (a login page in front), a non-rules body or nothing listening is an error to show", async () => {
    answer = { status: 503, body: "unavailable" };
    expect(await readAlertRules(base, logger)).toEqual({ error: "Prometheus answered 503." });
    answer = { status: 302, body: "", headers: { location: "https://login.example/" } };
    expect(await readAlertRules(base, logger)).toEqual({ error: "Prometheus answered 302." });
    answer = { status: 200, body: JSON.stringify({ status: "error", error: "bad" }) };
    expect(await readAlertRules(base, logger)).toEqual({
      error: "Prometheus answered something other than a rules list.",
    });
    expect(await readAlertRules("http://127.0.0.1:9", logger)).toEqual({ error: "Prometheus did not answer." });
  });

  it("PROMETHEUS_URL is optional; when set it must be an http(s) URL", () => {
    const base = {
      MGMT_DB_URL: "http://x",
      TURSO_ORG: "o",
      DB_TOKEN_ENCRYPTION_KEY: "k",
      ADMIN_TOKEN: "a",
      METRICS_TOKEN: "m",
    };
    expect(readConfig(base).prometheusUrl).toBeNull();
    expect(readConfig({ ...base, PROMETHEUS_URL: "https://prom.example/" }).prometheusUrl).toBe("https://prom.example");
    expect(() => readConfig({ ...base, PROMETHEUS_URL: "ftp://prom.example" })).toThrow(/PROMETHEUS_URL/);
    expect(() => readConfig({ ...base, PROMETHEUS_URL: "not a url" })).toThrow(/PROMETHEUS_URL/);
  });
});
