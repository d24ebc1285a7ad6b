import { Hono } from "hono";
import { AppError } from "../../../shared/errors";
import { admitted, settleLeases } from "../../admission";
import { authenticate } from "../../auth/authenticate";
import type { AppEnv } from "../../types";

/**
 * `GET /api/usage`: the calling tenant's plan, limits and usage this month,
 * with its API key. Admitted like every tenant request, so it also carries
 * the rate-limit headers and counts against the limit it reports.
 */
export const tenantUsage = new Hono<AppEnv>();

tenantUsage.get("/", authenticate(), admitted(), async (c) => {
  await settleLeases(c);
  const status = await c.env.TENANT_DO.getByName(c.get("auth").tenantId).status();
  if (!status) throw new AppError("internal", "the tenant's usage counters did not answer");
  const { usage, rateLimit } = status;
  const limits = c.get("services").config.planLimits[rateLimit.plan];
  return c.json({
    tenant_id: c.get("auth").tenantId,
    plan: rateLimit.plan,
    rate_limit: {
      limit: rateLimit.limit,
      source: rateLimit.source,
      window_seconds: rateLimit.windowSeconds,
      used: rateLimit.used,
      remaining: rateLimit.remaining,
      reset_at: rateLimit.resetAt,
    },
    quotas: {
      tool_calls_per_month: {
        limit: usage.quota.limit,
        used: usage.quota.used,
        remaining: usage.quota.limit === null ? null : Math.max(0, usage.quota.limit - usage.quota.used),
        resets_at: usage.quota.resetsAt,
      },
      sessions: { limit: limits.sessions },
    },
    usage: { period: usage.usage.period, requests: usage.usage.requests, tool_calls: usage.usage.toolCalls },
  });
});
