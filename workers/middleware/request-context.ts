import type { MiddlewareHandler } from "hono";
import { createLogger } from "../../shared/logging";
import { recorder, recordMcpRequest, scheduleFlush } from "../ops/telemetry";
import { recordTraffic, scheduleTrafficFlush } from "../ops/traffic";
import { getServices } from "../services";
import type { AppEnv } from "../types";

const MAX_TOOL_CHARS = 96;
const MAX_METHODS_CHARS = 256;

/**
 * Gives each request an id (Cloudflare's `cf-ray` when present, so our logs
 * join Cloudflare's), a logger carrying it and the isolate's services; when
 * the request ends, writes its log line, metrics and Analytics Engine point.
 */
export function requestContext(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const requestId = c.req.header("cf-ray") ?? crypto.randomUUID();
    const logger = createLogger({ requestId });
    const services = getServices(c.env);
    c.set("requestId", requestId);
    c.set("logger", logger);
    c.set("services", services);
    c.set("telemetry", {});
    const started = performance.now();
    await next();
    // Workers freeze timers during I/O-free CPU work, so this measures wall time spent waiting too.
    const durationMs = Math.round((performance.now() - started) * 10) / 10;
    c.header("X-Request-Id", requestId);

    const route = c.req.routePath === "/*" && c.res.status === 404 ? "unmatched" : c.req.routePath;
    const status = c.res.status;
    const tenant = c.get("auth")?.tenantId;
    // Tool and method names come from the client: cut them (as Analytics Engine's blob limits
    // require anyway) so a request cannot write megabytes into the logs.
    const tool = c.get("telemetry").tool?.slice(0, MAX_TOOL_CHARS);
    const mcpMethod = c.get("telemetry").mcpMethod?.slice(0, MAX_METHODS_CHARS);
    const level = status >= 500 ? "error" : "info";
    logger.log(level, "request", { method: c.req.method, route, status, durationMs, tenant, tool, mcpMethod });

    recorder.inc("http_requests_total", { method: c.req.method, route, status });
    recorder.observe("http_request_duration_seconds", { method: c.req.method, route }, durationMs / 1000);
    if (tenant) {
      recorder.inc("tenant_requests_total", { tenant, status });
      recordTraffic(tenant, status, durationMs);
    }
    if (mcpMethod) recordMcpRequest(mcpMethod, status);
    c.env.ANALYTICS?.writeDataPoint({
      indexes: [tenant ?? "anonymous"],
      blobs: [tenant ?? "", route, c.req.method, tool ?? "", String(status), mcpMethod ?? ""],
      doubles: [status, durationMs],
    });
    scheduleFlush(c.env, c.executionCtx, services.config.metricsFlushMs);
    scheduleTrafficFlush(c.env, c.executionCtx, services.config.metricsFlushMs);
  };
}
