import { Hono, type MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { timingSafeEqual } from "../../shared/crypto/encoding";
import { AppError } from "../../shared/errors";
import { seriesKey } from "../../shared/metrics/recorder";
import { BREAKER_STATE_VALUE } from "../services";
import type { AppEnv } from "../types";
import { readMetrics, recorder } from "./telemetry";

/**
 * `/metrics`: Prometheus text aggregated across isolates by the sharded
 * MetricsDO, per-tenant metrics cut to their largest series; `?tenant=ID`
 * shows one tenant's series in full. Needs `Authorization: Bearer
 * $METRICS_TOKEN`, except on the local stack (`ENVIRONMENT=development`, set
 * only by `tools/local-secrets.ts`), so the runbook's plain `curl` works
 * there. That exception is decided by configuration, never by a request
 * header: `CF-Connecting-IP` is whatever the client sent under `wrangler
 * dev`, and the local stack listens on 127.0.0.1 only.
 */
export const metrics = new Hono<AppEnv>();

/** `?tenant=ID`: that tenant's series only, in full (tenant ids are short lowercase alphanumerics). */
function tenantQuery(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^[a-z0-9_-]{1,64}$/.test(value)) {
    throw new AppError("invalid_request", "tenant: must be a tenant id", { code: "invalid_parameter" });
  }
  return value;
}

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

/** A scrape without any credential, on the local stack only; a credential sent is always checked. */
const localScrape: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.req.header("authorization") && c.var.services.config.environment === "development") return next();
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
  const text = await readMetrics(c.env, pending, tenantQuery(c.req.query("tenant")));
  return c.text(text, 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
});
