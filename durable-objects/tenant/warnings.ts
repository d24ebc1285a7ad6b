import { upgradeFrom } from "../../shared/plans";
import type { QuotaState, RateLimitState, TenantSettings } from "./contract";

/** From this share of a limit on, admitted responses carry a warning. */
export const WARNING_THRESHOLD = 0.9;

/**
 * The warnings an admitted response carries. Shared by the object (a request
 * it admits itself) and the Worker (a request admitted from a lease), so both
 * say the same thing at the same point.
 */
export function warnings(
  settings: Pick<TenantSettings, "plan" | "graceEndsAt">,
  rateLimit: RateLimitState,
  quota: QuotaState,
  now: number,
): string[] {
  const out: string[] = [];
  if (settings.graceEndsAt && Date.parse(settings.graceEndsAt) > now) {
    out.push(
      `Payment failing: the ${settings.plan} plan stays in force until ${settings.graceEndsAt}, then the tenant ` +
        "returns to the free plan. Update the payment method (POST /api/billing/portal).",
    );
  }
  if (rateLimit.used >= rateLimit.limit * WARNING_THRESHOLD) {
    out.push(
      `Rate limit nearly reached: ${rateLimit.used} of ${rateLimit.limit} requests used in the last ` +
        `${rateLimit.windowSeconds} s; further requests are refused with 429 until the window frees up.`,
    );
  }
  if (quota.limit !== null && quota.used >= quota.limit * WARNING_THRESHOLD) {
    const upgrade = upgradeFrom(settings.plan);
    out.push(
      `Plan quota nearly reached: ${quota.used} of ${quota.limit} tool calls used this month on the ${settings.plan} plan; ` +
        `resets ${quota.resetsAt}.${upgrade ? ` Upgrade to ${upgrade} for more.` : ""}`,
    );
  }
  return out;
}
