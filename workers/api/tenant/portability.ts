import { Hono } from "hono";
import { admitted } from "../../admission";
import { authenticate } from "../../auth/authenticate";
import { limitBody } from "../../middleware/body-limit";
import type { AppEnv } from "../../types";
import { exportResponse, importResponse, MAX_IMPORT_BYTES } from "../portability/transfer";

/**
 * `GET /api/export` and `POST /api/import` with the tenant's own API key:
 * take the memories along, or bring them from elsewhere. An import is a
 * write: refused (503) while the tenant's database is being migrated.
 */
export const tenantExport = new Hono<AppEnv>();
export const tenantImport = new Hono<AppEnv>();

tenantExport.get("/", authenticate(), admitted(), (c) => {
  const { tenantId, db } = c.get("auth");
  return exportResponse(c, c.get("services").tenantDb(tenantId, db), tenantId);
});

tenantImport.post("/", authenticate(), admitted({ write: true }), limitBody(MAX_IMPORT_BYTES), (c) => {
  const { tenantId, db } = c.get("auth");
  return importResponse(c, c.get("services").tenantDb(tenantId, db), tenantId);
});
