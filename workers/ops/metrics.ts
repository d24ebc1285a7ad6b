import { Hono } from "hono";
import { timingSafeEqual } from "../../shared/crypto/encoding";
import { AppError } from "../../shared/errors";
import { seriesKey } from "../../shared/metrics/recorder";
import { BREAKER_STATE_VALUE } from "../services";
import type { AppEnv } from "../types";
import { metricsStub, recorder } from "./telemetry";

/**
 * `/metrics`: Prometheus text aggregated across isolates by the MetricsDO.
 * Needs `Authorization: Bearer $METRICS_TOKEN`, except on the local stack
 * (`ENVIRONMENT=development`, set only by `tools/local-secrets.ts`), so the
 * runbook's plain `curl` works there. That exception is decided by
 * configuration, never by a request header: `CF-Connecting-IP` is whatever
 * the client sent under `wrangler dev`, and the local stack listens on
 * 127.0.0.1 only.
 */
export const metrics = new Hono<AppEnv>();

metrics.get("/metrics", async (c) => {
  const { config } = c.var.services;
  const header = c.req.header("authorization");
  if (header) {
    const token = header.replace(/^Bearer\s+/i, "");
    if (!(await timingSafeEqual(token, config.metricsToken))) {
      throw new AppError("forbidden", "invalid metrics token");
    }
  } else if (config.environment !== "development") {
    throw new AppError("unauthorized", "metrics need Authorization: Bearer <METRICS_TOKEN>", {
      headers: { "WWW-Authenticate": 'Bearer realm="metrics"' },
    });
  }
  // This isolate's unshipped changes ride along, so what it just served is counted.
  const pending = recorder.drain();
  pending.push({ op: "set", series: seriesKey("muninn_build_info", { version: config.version }), value: 1 });
  // The answering isolate's own view of the management DB is the freshest one.
  const state = BREAKER_STATE_VALUE[c.var.services.mgmtBreaker.state];
  pending.push({ op: "set", series: seriesKey("circuit_breaker_state", { target: "managementDb" }), value: state });
  const text = await metricsStub(c.env).exposition(pending);
  return c.text(text, 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
});
