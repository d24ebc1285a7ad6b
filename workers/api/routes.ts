import { Hono } from "hono";
import type { AppEnv } from "../types";
import { signup } from "./accounts/signup";
import { adminAuditLog } from "./admin/audit-log";
import { adminBilling } from "./admin/billing";
import { adminMigrations } from "./admin/migrations";
import { adminPortability } from "./admin/portability";
import { requireAdmin } from "./admin/require-admin";
import { adminSeats } from "./admin/seats";
import { adminSessions } from "./admin/sessions";
import { adminTenants } from "./admin/tenants";
import { adminWebhooks } from "./admin/webhooks";
import { tenantBilling } from "./tenant/billing";
import { tenantDeletion } from "./tenant/deletion";
import { tenantGrants } from "./tenant/grants";
import { tenantInvitations } from "./tenant/invitations";
import { tenantKeys } from "./tenant/keys";
import { tenantMe } from "./tenant/me";
import { tenantMembers } from "./tenant/members";
import { tenantExport, tenantImport } from "./tenant/portability";
import { tenantUsage } from "./tenant/usage";
import { deletionResponse } from "./tenant-deletion";

/**
 * `/api`: the operator's admin API (`ADMIN_TOKEN`) and the tenant's own
 * self-service routes (its API key, admitted through its Durable Object).
 */
export const api = new Hono<AppEnv>();

// "/x/*" also matches "/x" itself, so these cover the collections and everything below them.
api.use("/tenants/*", requireAdmin());
api.use("/audit-log/*", requireAdmin());
api.use("/admin/*", requireAdmin());
api.route("/tenants/:id/sessions", adminSessions);
api.route("/tenants/:id/seats", adminSeats);
// Also finishes a deletion that was interrupted (the tenant is already marked deleted).
api.delete("/tenants/:id", (c) => deletionResponse(c, c.req.param("id"), c.get("adminActor")));
api.route("/tenants/:id", adminMigrations);
api.route("/tenants/:id", adminPortability);
api.route("/tenants", adminTenants);
api.route("/audit-log", adminAuditLog);
api.route("/admin/webhooks", adminWebhooks);
api.route("/admin/billing", adminBilling);

api.route("/signup", signup);
api.route("/me", tenantMe);
api.route("/keys", tenantKeys);
api.route("/members", tenantMembers);
api.route("/invitations", tenantInvitations);
api.route("/oauth/grants", tenantGrants);
api.route("/usage", tenantUsage);
api.route("/billing", tenantBilling);
api.route("/export", tenantExport);
api.route("/account", tenantDeletion);
api.route("/import", tenantImport);
