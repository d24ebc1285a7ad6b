import type { BillingContext } from "../shared/billing/customers";
import { endExpiredGracePeriods } from "../shared/billing/grace";
import { reconcileBilling } from "../shared/billing/reconcile";
import { deleteTenant, unfinishedDeletions } from "../shared/lifecycle/deletion/delete-tenant";
import { finalizeExpiredMoves } from "../shared/lifecycle/move/commands";
import { createLogger, describeError, type Logger } from "../shared/logging";
import { OAUTH_PURGE_CRON, purgeOAuthData } from "./auth/oauth-purge";
import { pushAll } from "./billing/context";
import { deletionHooks } from "./lifecycle/deletion-hooks";
import { flushMetrics, recorder } from "./ops/telemetry";
import { getServices } from "./services";

/** The cron expression (wrangler.toml `[triggers]`) of the daily billing reconciliation; every other trigger ends graces. */
export const DAILY_RECONCILE_CRON = "17 6 * * *";

/**
 * Cron work: end payment grace periods that ran out, delete databases whose
 * retention after a tenant migration ran out and finish interrupted account
 * deletions (every few minutes), and
 * once a day compare every tenant with Stripe in report mode, so drift shows
 * in `billing_drift_tenants` and the logs without anything being changed,
 * and every hour purge expired OAuth data.
 */
export async function scheduled(controller: ScheduledController, env: Env): Promise<void> {
  const logger = createLogger({ component: "scheduled", cron: controller.cron });
  const services = getServices(env);
  if (controller.cron === OAUTH_PURGE_CRON) return purgeOAuthData(services.config, env);
  try {
    if (controller.cron === DAILY_RECONCILE_CRON) {
      if (!services.config.billing || !services.stripe) return;
      const context: BillingContext = {
        mgmtDb: services.mgmtDb,
        billing: services.config.billing,
        stripe: services.stripe,
      };
      const { report } = await reconcileBilling(context, { apply: false, actor: "system" });
      recorder.set("billing_drift_tenants", {}, report.drift.length);
      const level = report.drift.length > 0 || report.errors.length > 0 ? "warn" : "info";
      logger.log(level, "billing reconciliation report", {
        checked: report.checked,
        drift: report.drift.length,
        errors: report.errors.length,
        tenants: report.drift.slice(0, 50).map((drift) => drift.tenantId),
      });
      return;
    }
    await tenantLifecycle(env, logger);
    const ended = await endExpiredGracePeriods(services.mgmtDb);
    for (const tenant of ended) {
      recorder.inc("billing_grace_expired_total", {});
      logger.warn("billing grace period ended: tenant returned to the free plan", { tenant: tenant.id });
    }
    await pushAll(env, logger, ended);
  } catch (error) {
    logger.error("scheduled billing work failed", describeError(error));
    throw error;
  } finally {
    await flushMetrics(env);
  }
}

/** docs/lifecycle.md: old databases past their retention, and deletions that were interrupted. */
async function tenantLifecycle(env: Env, logger: Logger): Promise<void> {
  const { mgmtDb, config } = getServices(env);
  const finalized = await finalizeExpiredMoves({ mgmt: mgmtDb, config }, Date.now(), (id, error) =>
    logger.error("old database not finalized", { migration: id, ...describeError(error) }),
  );
  if (finalized.length > 0) logger.info("old databases finalized after retention", { migrations: finalized });
  for (const tenantId of await unfinishedDeletions(mgmtDb)) {
    await deleteTenant({ mgmt: mgmtDb, config, hooks: deletionHooks(env) }, tenantId, { actor: "system" }).then(
      () => logger.info("interrupted account deletion finished", { tenant: tenantId }),
      (error: unknown) => logger.error("account deletion not finished", { tenant: tenantId, ...describeError(error) }),
    );
  }
}
