import { Hono } from "hono";
import { admitted } from "../../admission";
import { authenticate } from "../../auth/authenticate";
import { tenantDoor } from "../../memory-door";
import { limitBody } from "../../middleware/body-limit";
import type { AppEnv } from "../../types";
import { exportResponse, importResponse, MAX_IMPORT_BYTES } from "../portability/transfer";

/**
 * `GET /api/export` and `POST /api/import` with the tenant's own credential:
 * take the memories along, or bring them from elsewhere. Both go through the
 * memory door, which decides scope (export reads: `mcp:read` or
 * `mcp:tools`; import writes: `mcp:tools`), field rules and quota. An import
 * is a write: refused (503) while the tenant's database is being migrated.
 */
export const tenantExport = new Hono<AppEnv>();
export const tenantImport = new Hono<AppEnv>();

tenantExport.get("/", authenticate(), admitted(), (c) => exportResponse(c, tenantDoor(c), c.get("auth").tenantId));

tenantImport.post("/", authenticate(), admitted({ write: true }), limitBody(MAX_IMPORT_BYTES), (c) =>
  importResponse(c, tenantDoor(c), c.get("auth").tenantId),
);
