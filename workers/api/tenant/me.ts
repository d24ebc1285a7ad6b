import { Hono } from "hono";
import { admitted } from "../../admission";
import { authenticate } from "../../auth/authenticate";
import type { AppEnv } from "../../types";

/**
 * `GET /api/me`: who this API key is — tenant, key, the member it belongs to
 * and their role, scopes (within that role) — and the plan and
 * rate limit in force, straight from admission. It costs exactly one
 * authentication and one admission, which also makes it the benchmark's
 * measure of what admission adds to a request.
 */
export const tenantMe = new Hono<AppEnv>();

tenantMe.get("/", authenticate(), admitted(), (c) => {
  const auth = c.get("auth");
  const admission = c.get("admission");
  return c.json({
    tenant_id: auth.tenantId,
    key_id: auth.keyId,
    member_id: auth.userId,
    role: auth.role,
    scopes: auth.scopes,
    plan: admission.plan,
    rate_limit: admission.rateLimit && {
      limit: admission.rateLimit.limit,
      source: admission.rateLimit.source,
      remaining: admission.rateLimit.remaining,
    },
    warnings: admission.warnings,
  });
});
