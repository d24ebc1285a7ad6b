/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { writeAudit } from "../../../shared/audit";
import { timingSafeEqual } from "../../../shared/crypto/encoding";
import { render } from "../../console/render";
import { clientIp, spendIpBudget } from "../../middleware/ip-rate-limit";
import { type AdminEnv, asApp } from "../context";
import { AdminSigninPage } from "../pages/signin";
import { adminCsrfValid, endOperatorSession, OPERATOR_NAME, startOperatorSession } from "../session";

/** `/admin/signin` and `/admin/signout`. */
export const adminSignin = new Hono<AdminEnv>();

adminSignin.get("/admin/signin", (c) => {
  if (c.get("operator")) return c.redirect("/admin/tenants", 303);
  return render(c, <AdminSigninPage csrf={c.get("csrf")} />);
});

adminSignin.post("/admin/signin", async (c) => {
  const form = await c.req.formData();
  const name = String(form.get("name") ?? "")
    .trim()
    .slice(0, 100);
  const token = String(form.get("token") ?? "").slice(0, 1024);
  const page = (error: string, status: number) =>
    render(c, <AdminSigninPage csrf={c.get("csrf")} name={name} error={error} />, status);
  if (!(await adminCsrfValid(c, form))) return page("This form expired. Please try again.", 403);
  // Every attempt spends the address's budget (its own group: a tenant's failed
  // sign-ins do not lock operators out, nor the reverse), so the token cannot
  // be guessed faster than the limit.
  const { config } = c.get("services");
  const limited = await spendIpBudget(asApp(c), "admin-signin", config.ipRateLimitPerMinute);
  if (limited && !limited.allowed) {
    c.header("Retry-After", String(limited.retryAfterSeconds));
    return page("Too many sign-in attempts from this address. Wait a minute and try again.", 429);
  }
  if (!OPERATOR_NAME.test(name)) return page("Give your name: letters, digits and @ . _ + - only.", 400);
  // Constant time: the comparison hashes both sides first (shared/crypto/encoding.ts).
  if (!(await timingSafeEqual(token, config.adminToken))) {
    c.get("logger").warn("admin console sign-in refused", { route: "/admin/signin", ip: clientIp(asApp(c)) });
    return page("That is not the admin token.", 401);
  }
  await startOperatorSession(c, name);
  await writeAudit(c.get("services").mgmtDb, {
    tenantId: null,
    actor: `admin:${name}`,
    action: "admin.sign_in",
    ip: clientIp(asApp(c)),
  });
  return c.redirect("/admin/tenants", 303);
});

adminSignin.post("/admin/signout", async (c) => {
  const form = await c.req.formData();
  if (await adminCsrfValid(c, form)) endOperatorSession(c);
  return c.redirect("/admin/signin", 303);
});
