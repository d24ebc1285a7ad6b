import { Hono, type MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { timingSafeEqual } from "../../shared/crypto/encoding";
import { AppError } from "../../shared/errors";
import { seriesKey } from "../../shared/metrics/recorder";
import { BREAKER_STATE_VALUE } from "../services";
import type { AppEnv } from "../types";
import { metricsStub, recorder } from "./telemetry";

/**
 * `/metrics`: Prometheus text aggregated across isolates by the MetricsDO.
 * Needs `Authorization: Bearer $METRICS_TOKEN`; in local development a
 * request from loopback needs none, so the runbook's plain `curl` works.
 */
export const metrics = new Hono<AppEnv>();

const LOOPBACK = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);

/**
 * `Authorization: Bearer $METRICS_TOKEN` (Hono's `bearerAuth`, constant-time
 * compare). Refusals are thrown as `AppError`s so `app.onError` shapes them:
 * no usable credential is 401, a wrong one 403.
 */
const requireMetricsToken = bearerAuth<AppEnv>({
  verifyToken: (token, c) => timingSafeEqual(token, c.var.services.config.metricsToken),
  noAuthenticationHeader: { message: missingToken },
  invalidAuthenticationHeader: { message: wrongToken },
  invalidToken: { message: wrongToken },
});

function missingToken(): never {
  throw new AppError("unauthorized", "metrics need Authorization: Bearer <METRICS_TOKEN>", {
    headers: { "WWW-Authenticate": 'Bearer realm="metrics"' },
  });
}

function wrongToken(): never {
  throw new AppError("forbidden", "invalid metrics token");
}

/** A scrape from loopback without any credential, in local development only. */
const localScrape: MiddlewareHandler<AppEnv> = async (c, next) => {
  const { config } = c.var.services;
  const fromLoopback = LOOPBACK.has(c.req.header("cf-connecting-ip") ?? "");
  if (!c.req.header("authorization") && config.environment === "development" && fromLoopback) return next();
  return requireMetricsToken(c, next);
};

metrics.get("/metrics", localScrape, async (c) => {
  const { config } = c.var.services;
  // This isolate's unshipped changes ride along, so what it just served is counted.
  const pending = recorder.drain();
  pending.push({ op: "set", series: seriesKey("muninn_build_info", { version: config.version }), value: 1 });
  // The answering isolate's own view of the management DB is the freshest one.
  const state = BREAKER_STATE_VALUE[c.var.services.mgmtBreaker.state];
  pending.push({ op: "set", series: seriesKey("circuit_breaker_state", { target: "managementDb" }), value: state });
  const text = await metricsStub(c.env).exposition(pending);
  return c.text(text, 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
});
