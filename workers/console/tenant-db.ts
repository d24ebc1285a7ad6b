import type { Database } from "../../shared/db/client";
import { AppError } from "../../shared/errors";
import { getTenantDatabase } from "../../shared/tenants/tenants";
import { type ConsoleContext, signedIn } from "./context";

/**
 * The signed-in person's own tenant database. The tenant comes from the
 * session, never from the request, so no page can be pointed at another
 * tenant's data.
 */
export async function ownTenantDb(c: ConsoleContext): Promise<Database> {
  const tenantId = signedIn(c).account.tenantId;
  const services = c.get("services");
  const database = await getTenantDatabase(services.mgmtDb, services.config, tenantId);
  if (!database) throw new AppError("not_found", "this account has no database", { code: "tenant_not_found" });
  return services.tenantDb(tenantId, database.coordinates);
}
