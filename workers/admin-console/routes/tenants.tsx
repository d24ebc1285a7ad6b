/** @jsxImportSource hono/jsx */

import { Hono } from "hono";
import { z } from "zod";
import { searchTenants, type TenantChange } from "../../../shared/admin/tenant-records";
import { listAudit } from "../../../shared/audit";
import { listMoves } from "../../../shared/lifecycle/move/record";
import { describeError } from "../../../shared/logging";
import { PLANS } from "../../../shared/plans";
import { listMembers } from "../../../shared/teams/memberships";
import { seatUsage } from "../../../shared/teams/seats";
import { getTenantDatabase, type Tenant } from "../../../shared/tenants/tenants";
import { applyTenantChange, closeTenantSessions } from "../../api/admin/operations";
import { requireTenant, settingsOf, tenantObject } from "../../api/admin/tenant-lookup";
import { render } from "../../console/render";
import { type AdminEnv, type AdminPageContext, asApp, operator } from "../context";
import { ConfirmPage } from "../pages/confirm";
import { TenantPage, type TenantView } from "../pages/tenant";
import { TenantsPage } from "../pages/tenants";
import { adminCsrfValid } from "../session";
import { expiredForm, noticeFrom } from "./notices";

/** `/admin/tenants`: search, one tenant's page, and the changes an operator makes to it. */
export const adminTenantPages = new Hono<AdminEnv>();

adminTenantPages.get("/admin/tenants", async (c) => {
  const query = (c.req.query("q") ?? "").trim().slice(0, 200);
  const { tenants, hasMore } = await searchTenants(c.get("services").mgmtDb, {
    query: query || undefined,
    limit: 50,
  });
  return render(
    c,
    <TenantsPage csrf={c.get("csrf")} operator={operator(c).name} query={query} tenants={tenants} hasMore={hasMore} />,
  );
});

adminTenantPages.get("/admin/tenants/:id", async (c) => {
  const tenant = await requireTenant(asApp(c));
  return render(
    c,
    <TenantPage
      csrf={c.get("csrf")}
      operator={operator(c).name}
      view={await tenantView(c, tenant)}
      notice={noticeFrom(c)}
    />,
  );
});

const changeForm = z.object({
  plan: z.enum(PLANS),
  status: z.enum(["active", "suspended"]),
  rate_limit_override: z
    .string()
    .trim()
    .regex(/^\d{0,6}$/, "a whole number of requests a minute, or empty")
    .transform((value) => (value === "" ? null : Number(value)))
    .refine((value) => value === null || (value >= 1 && value <= 100_000), "between 1 and 100000"),
  confirm: z.literal("yes").optional(),
});

/**
 * Change plan, status and override: the first POST shows what would change
 * and asks for confirmation; the confirmed one applies it through the admin
 * API's own `applyTenantChange` (audited with the operator's name).
 */
adminTenantPages.post("/admin/tenants/:id/change", async (c) => {
  const tenant = await requireTenant(asApp(c));
  const form = await c.req.formData();
  if (!(await adminCsrfValid(c, form))) return expiredForm(c);
  const parsed = changeForm.safeParse(Object.fromEntries(form));
  const href = `/admin/tenants/${encodeURIComponent(tenant.id)}`;
  if (!parsed.success) {
    return c.redirect(`${href}?notice=invalid_override`, 303);
  }
  const wanted = parsed.data;
  const change: TenantChange = {};
  const rows: [string, string, string][] = [];
  if (wanted.plan !== tenant.plan) {
    change.plan = wanted.plan;
    rows.push(["Plan", tenant.plan, wanted.plan]);
  }
  if (wanted.status !== tenant.status) {
    change.status = wanted.status;
    rows.push(["Status", tenant.status, wanted.status]);
  }
  if (wanted.rate_limit_override !== tenant.rateLimitOverride) {
    change.rateLimitOverride = wanted.rate_limit_override;
    rows.push(["Rate override", overrideText(tenant.rateLimitOverride), overrideText(wanted.rate_limit_override)]);
  }
  if (rows.length === 0) return c.redirect(`${href}?notice=unchanged`, 303);
  if (!wanted.confirm) {
    return render(
      c,
      <ConfirmPage
        csrf={c.get("csrf")}
        operator={operator(c).name}
        section="tenants"
        title={`Change ${tenant.orgName}`}
        action={`${href}/change`}
        fields={{
          plan: wanted.plan,
          status: wanted.status,
          rate_limit_override: wanted.rate_limit_override === null ? "" : String(wanted.rate_limit_override),
        }}
        rows={rows}
        cancel={href}
        button="Confirm change"
      >
        <p>
          Tenant <code>{tenant.id}</code> ({tenant.ownerEmail}). The change takes effect on its next request and is
          written to the audit log as <strong>admin:{operator(c).name}</strong>.
        </p>
      </ConfirmPage>,
    );
  }
  const outcome = await applyTenantChange(asApp(c), tenant.id, change);
  return c.redirect(`${href}?notice=${outcome.outcome}`, 303);
});

const reapForm = z.object({
  idle_minutes: z
    .string()
    .trim()
    .regex(/^\d{1,6}$/)
    .transform(Number),
});

/** "Reap idle": close the tenant's MCP sessions idle for at least the given minutes (0 closes all). */
adminTenantPages.post("/admin/tenants/:id/sessions/reap", async (c) => {
  const tenant = await requireTenant(asApp(c));
  const form = await c.req.formData();
  if (!(await adminCsrfValid(c, form))) return expiredForm(c);
  const parsed = reapForm.safeParse(Object.fromEntries(form));
  const href = `/admin/tenants/${encodeURIComponent(tenant.id)}`;
  if (!parsed.success) return c.redirect(`${href}?notice=invalid_minutes`, 303);
  const closed = await closeTenantSessions(asApp(c), tenant.id, parsed.data.idle_minutes * 60);
  return c.redirect(`${href}?notice=reaped&count=${closed}#sessions-heading`, 303);
});

function overrideText(value: number | null): string {
  return value === null ? "none (plan's limit)" : `${value} / min`;
}

/** The tenant's page reads its object too; a part that does not answer shows as such, the rest still renders. */
async function tenantView(c: AdminPageContext, tenant: Tenant): Promise<TenantView> {
  const { mgmtDb, config } = c.get("services");
  const stub = tenantObject(asApp(c), tenant.id);
  const settings = settingsOf(tenant);
  const soft = <T,>(what: string, work: Promise<T>): Promise<T | null> =>
    work.catch((error: unknown) => {
      c.get("logger").warn(`admin console: ${what} unavailable`, { tenant: tenant.id, ...describeError(error) });
      return null;
    });
  const [database, usage, rate, sessions, moves, audit, seats, members] = await Promise.all([
    getTenantDatabase(mgmtDb, config, tenant.id),
    soft("usage", stub.usageStatus(settings)),
    soft("rate limit", stub.rateLimitStatus(settings)),
    soft("sessions", stub.listSessions()),
    listMoves(mgmtDb, tenant.id),
    listAudit(mgmtDb, { tenantId: tenant.id, limit: 20 }),
    seatUsage(mgmtDb, config.planLimits, tenant.id),
    listMembers(mgmtDb, tenant.id),
  ]);
  const breaker = c
    .get("services")
    .tenantBreakers()
    .find((candidate) => candidate.database === tenant.id);
  return {
    tenant,
    database,
    breaker: breaker ? breaker.snapshot() : null,
    usage,
    rate,
    sessions,
    moves,
    audit: audit.entries,
    seats,
    members,
  };
}
