/**
 * `npm run billing:reconcile [-- --apply] [--tenant <id>] [--json]`: compare
 * every tenant that has a Stripe customer with Stripe's subscription state,
 * through the admin API (`POST /api/admin/billing/reconcile`) of the
 * deployment at BASE_URL with ADMIN_TOKEN (or else the running local
 * stack). Report mode changes nothing; `--apply` writes Stripe's state over
 * drifted tenants (audited).
 */
import { ConfigError } from "../shared/config";
import { fail, runOperatorScript } from "./operator-env";

const args = process.argv.slice(2);
const apply = args.includes("--apply");
const json = args.includes("--json");
const tenantFlag = args.indexOf("--tenant");
const tenantId = tenantFlag >= 0 ? args[tenantFlag + 1] : undefined;
if (tenantFlag >= 0 && !tenantId)
  fail("billing:reconcile", "usage: npm run billing:reconcile -- [--apply] [--tenant <id>] [--json]", 2);

interface Report {
  applied: boolean;
  checked: number;
  drift: {
    tenant_id: string;
    customer_id: string;
    local: { plan: string; subscription_id: string | null; status: string | null };
    stripe: { plan: string; subscription_id: string | null; status: string | null };
    fixed: boolean;
  }[];
  errors: { tenant_id: string; message: string }[];
}

await runOperatorScript("billing:reconcile", ["BASE_URL", "ADMIN_TOKEN"], async ({ env }) => {
  const { BASE_URL: baseUrl, ADMIN_TOKEN: adminToken, ADMIN_ACTOR: actor } = env;
  if (!baseUrl) throw new ConfigError("missing configuration: BASE_URL");
  if (!adminToken) throw new ConfigError("missing configuration: ADMIN_TOKEN");
  const query = new URLSearchParams({ apply: String(apply), ...(tenantId ? { tenant_id: tenantId } : {}) });
  const response = await fetch(`${baseUrl}/api/admin/billing/reconcile?${query}`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, ...(actor ? { "x-admin-actor": actor } : {}) },
  });
  if (!response.ok) {
    fail("billing:reconcile", `reconciliation failed: HTTP ${response.status} ${await response.text()}`);
  }
  const report = (await response.json()) as Report;
  if (json) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    const mode = report.applied ? "apply" : "report only";
    console.log(
      `billing reconciliation (${mode}): checked ${report.checked} tenants, ${report.drift.length} drifted, ` +
        `${report.errors.length} could not be compared`,
    );
    for (const drift of report.drift) {
      const local = `${drift.local.plan} ${drift.local.subscription_id ?? "-"} ${drift.local.status ?? "-"}`;
      const stripe = `${drift.stripe.plan} ${drift.stripe.subscription_id ?? "-"} ${drift.stripe.status ?? "-"}`;
      console.log(`  ${drift.tenant_id}  ours: ${local}  stripe: ${stripe}${drift.fixed ? "  (fixed)" : ""}`);
    }
    for (const error of report.errors) console.log(`  ${error.tenant_id}  error: ${error.message}`);
  }
});
