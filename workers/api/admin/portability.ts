import { type Context, Hono } from "hono";
import { AppError } from "../../../shared/errors";
import { getTenantDatabase } from "../../../shared/tenants/tenants";
import { operatorDoor } from "../../memory-door";
import { limitBody } from "../../middleware/body-limit";
import type { AppEnv } from "../../types";
import { exportResponse, importResponse, MAX_IMPORT_BYTES } from "../portability/transfer";
import { requireTenant, settingsOf } from "./tenant-lookup";

/** `GET /api/tenants/:id/export`, `POST /api/tenants/:id/import`: the same, for the operator. Behind `requireAdmin`. */
export const adminPortability = new Hono<AppEnv>();

async function tenantDatabase(c: Context<AppEnv>, tenantId: string) {
  const { mgmtDb, config } = c.get("services");
  const database = await getTenantDatabase(mgmtDb, config, tenantId);
  if (!database) throw new AppError("not_found", `tenant ${tenantId} has no database`, { code: "tenant_not_found" });
  return c.get("services").tenantDb(tenantId, database.coordinates);
}

adminPortability.get("/export", async (c) => {
  const record = await requireTenant(c);
  const door = operatorDoor(c, record.id, await tenantDatabase(c, record.id), settingsOf(record));
  return exportResponse(c, door, record.id);
});

adminPortability.post("/import", limitBody(MAX_IMPORT_BYTES), async (c) => {
  const record = await requireTenant(c);
  const door = operatorDoor(c, record.id, await tenantDatabase(c, record.id), settingsOf(record));
  return importResponse(c, door, record.id, settingsOf(record));
});
