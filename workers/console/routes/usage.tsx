/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { WARNING_THRESHOLD } from "../../../durable-objects/tenant/warnings";
import { countActiveMemories } from "../../../shared/memory/counts";
import { getTenant } from "../../../shared/tenants/tenants";
import { chartsOf, lastDays } from "../../../shared/usage-days";
import { takeTraffic } from "../../ops/traffic";
import { type ConsoleEnv, signedIn } from "../context";
import { type MonthSoFar, UsagePage } from "../pages/usage";
import { render } from "../render";
import { requireSignIn } from "../session";
import { ownTenantDb } from "../tenant-db";
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
  const { config, mgmtDb } = c.get("services");
  const [answer, memories] = await Promise.all([
    // With this isolate's unreported requests, so the charts include the calls just made.
    c.env.TENANT_DO.getByName(tenantId).usageDays(takeTraffic(tenantId), CHART_DAYS),
    ownTenantDb(c).then(countActiveMemories),
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
    const plan = (await getTenant(mgmtDb, tenantId))?.plan ?? "free";
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
