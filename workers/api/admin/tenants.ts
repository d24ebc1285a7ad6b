import { Hono } from "hono";
import { z } from "zod";
import type { UsageStatus } from "../../../durable-objects/tenant/contract";
import { signUp } from "../../../shared/accounts/signup";
import { searchTenants } from "../../../shared/admin/tenant-records";
import { decodeCursor, listPage } from "../../../shared/cursor";
import { AppError } from "../../../shared/errors";
import { effectiveRateLimit, PLANS, type PlanLimitTable, TENANT_STATUSES } from "../../../shared/plans";
import { getTenantDatabase, type Tenant } from "../../../shared/tenants/tenants";
import { clientIp } from "../../middleware/ip-rate-limit";
import type { AppEnv } from "../../types";
import { signupView } from "../accounts/signup";
import { parseInput, parseJsonBody } from "../validation";
import { applyTenantChange } from "./operations";
import { requireTenant, settingsOf, tenantObject } from "./tenant-lookup";

/** The operator's tenant routes, mounted at `/api/tenants` behind `requireAdmin`. See docs/admin-api.md. */
export const adminTenants = new Hono<AppEnv>();

const listQuery = z.object({
  q: z.string().trim().min(1).max(200).optional(),
  plan: z.enum(PLANS).optional(),
  status: z.enum(TENANT_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(500).optional(),
});
const tenantCursor = z.object({ createdAt: z.string(), id: z.string() });

const patchBody = z
  .object({
    plan: z.enum(PLANS).optional(),
    status: z.enum(["active", "suspended"]).optional(),
    rate_limit_override: z.number().int().min(1).max(100_000).nullable().optional(),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, {
    message: "name at least one of plan, status, rate_limit_override",
  });

adminTenants.get("/", async (c) => {
  const query = parseInput(listQuery, c.req.query());
  const { tenants, hasMore } = await searchTenants(c.get("services").mgmtDb, {
    query: query.q,
    plan: query.plan,
    status: query.status,
    after: query.cursor ? decodeCursor(tenantCursor, query.cursor, "this API") : undefined,
    limit: query.limit,
  });
  return c.json(
    listPage(
      tenants,
      hasMore,
      (tenant) => summaryView(tenant, c.get("services").config.planLimits),
      (last) => ({ createdAt: last.createdAt, id: last.id }),
    ),
  );
});

const createBody = z
  .object({
    org_name: z.string().trim().min(1).max(200),
    email: z.email().max(254),
    plan: z.enum(PLANS).default("free"),
    // Without one the owner cannot sign in (OAuth) until a password is set; the key still works.
    password: z.string().max(1024).optional(),
  })
  .strict();

/** `POST /api/tenants`: the operator creates a tenant exactly as signup does, with its owner and first key. */
adminTenants.post("/", async (c) => {
  const body = await parseJsonBody(c, createBody);
  const { mgmtDb, config } = c.get("services");
  const created = await signUp(mgmtDb, config, {
    email: body.email,
    password: body.password ?? null,
    orgName: body.org_name,
    plan: body.plan,
    actor: c.get("adminActor"),
    ip: clientIp(c),
  });
  c.get("logger").info("tenant created by admin", { tenant: created.tenant.id, actor: c.get("adminActor") });
  return c.json(signupView(created, config), 201);
});

adminTenants.get("/:id", async (c) => {
  const record = await requireTenant(c);
  const { mgmtDb, config } = c.get("services");
  // Reading the record re-applies it to the Durable Object (an older record
  // never overwrites a newer one), which heals a push that failed earlier.
  const [database, status] = await Promise.all([
    getTenantDatabase(mgmtDb, config, record.id),
    tenantObject(c, record.id).usageStatus(settingsOf(record)),
  ]);
  return c.json(detailView(record, database, status, config.planLimits));
});

adminTenants.patch("/:id", async (c) => {
  const body = await parseJsonBody(c, patchBody);
  const id = c.req.param("id");
  const outcome = await applyTenantChange(c, id, {
    plan: body.plan,
    status: body.status,
    rateLimitOverride: body.rate_limit_override,
  });
  const { mgmtDb, config } = c.get("services");
  const [database, status] = await Promise.all([
    getTenantDatabase(mgmtDb, config, id),
    tenantObject(c, id).usageStatus(),
  ]);
  return c.json(detailView(outcome.record, database, status, config.planLimits));
});

adminTenants.get("/:id/rate-limit", async (c) => {
  const record = await requireTenant(c);
  const status = await tenantObject(c, record.id).rateLimitStatus(settingsOf(record));
  if (!status) throw new AppError("internal", "the tenant's rate limiter did not answer");
  return c.json({
    tenant_id: record.id,
    plan: status.plan,
    limit: status.limit,
    source: status.source,
    window_seconds: status.windowSeconds,
    used: status.used,
    remaining: status.remaining,
    reset_seconds: status.resetSeconds,
    reset_at: status.resetAt,
  });
});

function quotasView(record: Tenant, limits: PlanLimitTable) {
  const rate = effectiveRateLimit(limits, record.plan, record.rateLimitOverride);
  const plan = limits[record.plan];
  return {
    requests_per_minute: { limit: rate.limit, source: rate.source, window_seconds: rate.windowSeconds },
    tool_calls_per_month: { limit: plan.toolCallsPerMonth, source: "plan" as const },
    sessions: { limit: plan.sessions, source: "plan" as const },
  };
}

function summaryView(record: Tenant, limits: PlanLimitTable) {
  return {
    id: record.id,
    org_name: record.orgName,
    email: record.ownerEmail,
    plan: record.plan,
    status: record.status,
    rate_limit_override: record.rateLimitOverride,
    quotas: quotasView(record, limits),
    api_keys_count: record.apiKeysCount,
    created_at: record.createdAt,
  };
}

function detailView(
  record: Tenant,
  database: { name: string; url: string; schemaVersion: number } | null,
  status: UsageStatus | null,
  limits: PlanLimitTable,
) {
  return {
    ...summaryView(record, limits),
    usage: status
      ? {
          period: status.usage.period,
          tool_calls: status.usage.toolCalls,
          requests: status.usage.requests,
          rate_limited: status.usage.rateLimited,
          quota_exceeded: status.usage.quotaExceeded,
          tool_calls_remaining:
            status.quota.limit === null ? null : Math.max(0, status.quota.limit - status.usage.toolCalls),
          resets_at: status.quota.resetsAt,
        }
      : null,
    database: database ? { name: database.name, url: database.url, schema_version: database.schemaVersion } : null,
    updated_at: record.updatedAt,
  };
}
