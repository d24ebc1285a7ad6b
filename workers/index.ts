import { deleteAccount, unfinishedDeletions } from "../shared/lifecycle/delete-account";
import { finalizeExpiredMigrations } from "../shared/lifecycle/move-tenant";
import { createLogger, describeError } from "../shared/logging";
import { createApp } from "./app";
import { getServices } from "./services";

export { IpLimiterDO } from "../durable-objects/ip-limiter/ip-limiter-do";
export { MetricsDO } from "../durable-objects/metrics/metrics-do";
export { TenantDO } from "../durable-objects/tenant/tenant-do";

const app = createApp();

export default {
  fetch: app.fetch,
  /**
   * Cron trigger (wrangler.toml `[triggers]`): delete old databases whose
   * retention after a migration ran out, and finish account deletions that
   * were interrupted.
   */
  async scheduled(_controller, env, _ctx) {
    const services = getServices(env);
    const logger = createLogger({ component: "tenant-migrations" });
    const finalized = await finalizeExpiredMigrations(
      { mgmt: services.mgmtDb, config: services.config },
      Date.now(),
      (id, error) => logger.error("old database not finalized", { migration: id, ...describeError(error) }),
    );
    if (finalized.length > 0) logger.info("old databases finalized after retention", { migrations: finalized });
    const hooks = { eraseTenantObject: (id: string) => env.TENANT_DO.getByName(id).eraseStorage() };
    for (const tenantId of await unfinishedDeletions(services.mgmtDb)) {
      await deleteAccount({ mgmt: services.mgmtDb, config: services.config, hooks }, tenantId, {
        actor: "system",
      }).then(
        () => logger.info("interrupted account deletion finished", { tenant: tenantId }),
        (error: unknown) =>
          logger.error("account deletion not finished", { tenant: tenantId, ...describeError(error) }),
      );
    }
  },
} satisfies ExportedHandler<Env>;
