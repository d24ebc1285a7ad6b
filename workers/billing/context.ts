import type { MiddlewareHandler } from "hono";
import type { BillingContext } from "../../shared/billing/customers";
import { STRIPE_FAILURE_CODES } from "../../shared/billing/stripe-client";
import { AppError } from "../../shared/errors";
import type { Logger } from "../../shared/logging";
import { describeError } from "../../shared/logging";
import type { Tenant } from "../../shared/tenants/tenants";
import { settingsOf } from "../api/admin/tenant-lookup";
import type { Services } from "../services";
import type { AppEnv } from "../types";

/** Billing's dependencies, or a 503 saying billing is not configured on this deployment. */
export function billingContext(services: Services): BillingContext {
  const { config, stripe, mgmtDb } = services;
  if (!config.billing || !stripe) {
    throw new AppError("unavailable", "billing is not configured on this deployment", {
      code: "billing_not_configured",
    });
  }
  return { mgmtDb, billing: config.billing, stripe };
}

/**
 * Put a billing change in force on the tenant's Durable Object, so the next
 * request is admitted under the new plan. Throws when the object cannot be
 * reached; the change is already committed, and pushing the same record again
 * is harmless (an older record never replaces a newer one).
 */
export async function pushTenantSettings(env: Env, tenant: Tenant): Promise<void> {
  await env.TENANT_DO.getByName(tenant.id).updateSettings(settingsOf(tenant));
}

/** `pushTenantSettings` for many tenants; failures are logged and counted, not thrown. */
export async function pushAll(env: Env, logger: Logger, tenants: Tenant[]): Promise<number> {
  let failed = 0;
  for (const tenant of tenants) {
    try {
      await pushTenantSettings(env, tenant);
    } catch (error) {
      failed += 1;
      logger.error("billing change saved but not pushed to the tenant object", {
        tenant: tenant.id,
        ...describeError(error),
      });
    }
  }
  return failed;
}

/**
 * Log what a failed Stripe call hit (the client only gets a safe message).
 * Stripe's messages name ids and parameters, never the API key.
 */
export function logStripeFailures(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    const error = c.error;
    if (error instanceof AppError && STRIPE_FAILURE_CODES.has(error.code)) {
      c.get("logger").error("Stripe call failed", { code: error.code, ...describeError(error.cause) });
    }
  };
}
