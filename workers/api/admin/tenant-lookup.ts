import type { Context } from "hono";
import type { VersionedSettings } from "../../../durable-objects/tenant/contract";
import { AppError } from "../../../shared/errors";
import { getTenant, type Tenant } from "../../../shared/tenants/tenants";
import type { AppEnv } from "../../types";

/** The tenant named by the route's `:id`, or a 404 (deleted tenants are gone for operators too). */
export async function requireTenant(c: Context<AppEnv>): Promise<Tenant> {
  const id = c.req.param("id") ?? "";
  const record = await getTenant(c.get("services").mgmtDb, id);
  if (!record || record.status === "deleted") throw tenantNotFound(id);
  return record;
}

export function tenantNotFound(id: string): AppError {
  return new AppError("not_found", `no tenant ${JSON.stringify(id)}`, { code: "tenant_not_found" });
}

export function tenantObject(c: Context<AppEnv>, tenantId: string) {
  return c.env.TENANT_DO.getByName(tenantId);
}

/** What the tenant's Durable Object needs from a record to admit requests. */
export function settingsOf(record: Tenant): VersionedSettings {
  return {
    tenantId: record.id,
    plan: record.plan,
    status: record.status,
    rateLimitOverride: record.rateLimitOverride,
    graceEndsAt: record.graceEndsAt,
    recordUpdatedAt: record.updatedAt,
  };
}
