import { Hono } from "hono";
import type { AppEnv } from "../types";
import { signup } from "./accounts/signup";
import { adminAuditLog } from "./admin/audit-log";
import { adminBilling } from "./admin/billing";
import { requireAdmin } from "./admin/require-admin";
import { adminSessions } from "./admin/sessions";
import { adminTenants } from "./admin/tenants";
import { adminWebhooks } from "./admin/webhooks";
import { tenantBilling } from "./tenant/billing";
import { tenantGrants } from "./tenant/grants";
import { tenantKeys } from "./tenant/keys";
import { tenantMe } from "./tenant/me";
import { tenantUsage } from "./tenant/usage";

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
api.route("/tenants", adminTenants);
api.route("/audit-log", adminAuditLog);
api.route("/admin/webhooks", adminWebhooks);
api.route("/admin/billing", adminBilling);

api.route("/signup", signup);
api.route("/me", tenantMe);
api.route("/keys", tenantKeys);
api.route("/oauth/grants", tenantGrants);
api.route("/usage", tenantUsage);
api.route("/billing", tenantBilling);
