/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { WARNING_THRESHOLD } from "../../../durable-objects/tenant/warnings";
import { AppError } from "../../../shared/errors";
import { countActiveMemories } from "../../../shared/memory/counts";
import { chartsOf, lastDays } from "../../../shared/usage-days";
import { cachedTenantAccess } from "../../auth/authenticate";
import { takeTraffic } from "../../ops/traffic";
import { asApp, type ConsoleEnv, signedIn } from "../context";
import { type MonthSoFar, UsagePage } from "../pages/usage";
import { render } from "../render";
import { requireSignIn } from "../session";
import { viewer } from "./viewer";

/** `/app/usage`: the month so far against the plan, and 30 days of charts. */
export const usagePages = new Hono<ConsoleEnv>();
usagePages.use("/app/usage", requireSignIn());

const CHART_DAYS = 30;

/**
 * The numbers are the ones `GET /api/usage` reports (the tenant's Durable
 * Object: quota, monthly counts, the rate-limit window) plus what only the
 * console shows: the live sessions and the per-day counts, in the same
 * object call, and the count of stored memories from the tenant database.
 * docs/analytics.md says where each comes from.
 */
usagePages.get("/app/usage", async (c) => {
  const tenantId = signedIn(c).account.tenantId;
  const services = c.get("services");
  const { config } = services;
  // The tenant's record and database from the credential cache (as API requests find them), not a
  // management-DB read per view: after a move the count may come from the old database for up to 60 s.
  const access = await cachedTenantAccess(asApp(c), tenantId);
  if (!access) throw new AppError("not_found", "this account has no database", { code: "tenant_not_found" });
  const [answer, memories] = await Promise.all([
    // With this isolate's unreported requests, so the charts include the calls just made.
    c.env.TENANT_DO.getByName(tenantId).usageDays(takeTraffic(tenantId), CHART_DAYS),
    countActiveMemories(services.tenantDb(tenantId, access.db)),
  ]);
  // Asked with days > 0, the object always answers; the fallback only satisfies the type.
  const overview = answer ?? { status: null, activeSessions: 0, days: [] };
  const now = Date.now();
  let month: MonthSoFar;
  if (overview.status) {
    const { usage, rateLimit } = overview.status;
    month = {
      plan: rateLimit.plan,
      limits: config.planLimits[rateLimit.plan],
      period: usage.usage.period,
      toolCalls: usage.quota.used,
      toolCallLimit: usage.quota.limit,
      resetsAt: usage.quota.resetsAt,
      requests: usage.usage.requests,
      rateLimited: usage.usage.rateLimited,
      quotaExceeded: usage.usage.quotaExceeded,
      rateWindow: { used: rateLimit.used, limit: rateLimit.limit, windowSeconds: rateLimit.windowSeconds },
      memories,
      activeSessions: overview.activeSessions,
    };
  } else {
    // The object has not served this tenant yet (no key used): nothing counted, the plan from its record.
    const plan = access.plan;
    const limits = config.planLimits[plan];
    const date = new Date(now);
    month = {
      plan,
      limits,
      period: date.toISOString().slice(0, 7),
      toolCalls: 0,
      toolCallLimit: limits.toolCallsPerMonth,
      resetsAt: new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1)).toISOString(),
      requests: 0,
      rateLimited: 0,
      quotaExceeded: 0,
      rateWindow: { used: 0, limit: limits.requestsPerMinute, windowSeconds: 60 },
      memories,
      activeSessions: 0,
    };
  }
  const charts = chartsOf(overview.days, lastDays(now, CHART_DAYS));
  return render(c, <UsagePage viewer={viewer(c)} month={month} charts={charts} warnAt={WARNING_THRESHOLD} />);
});
