import { readConfig } from "../shared/config";
import { createLogger, describeError } from "../shared/logging";
import { createApp } from "./app";
import { authorizationServer } from "./auth/oauth-server";

export { IpLimiterDO } from "../durable-objects/ip-limiter/ip-limiter-do";
export { MetricsDO } from "../durable-objects/metrics/metrics-do";
export { TenantDO } from "../durable-objects/tenant/tenant-do";

const app = createApp();

/**
 * The hourly cron: remove expired and orphaned OAuth grants, tokens and
 * registrations from `OAUTH_KV` (KV TTLs drop most records on their own;
 * this sweeps what a TTL cannot, such as a grant whose client was deleted).
 */
async function purgeOAuthData(env: Env): Promise<void> {
  const logger = createLogger({ component: "oauth-purge" });
  const server = authorizationServer(readConfig(env));
  try {
    // Resumable sweeps in batches; a run stops after a bounded number and the next cron continues.
    let cursor: string | undefined;
    for (let batch = 0; batch < 20; batch++) {
      const result = await server.purgeExpiredData(env, cursor ? { cursor } : {});
      logger.info("oauth data purged", { ...result });
      if (result.done || !result.cursor) break;
      cursor = result.cursor;
    }
  } catch (error) {
    logger.error("oauth purge failed", describeError(error));
    throw error;
  }
}

export default {
  fetch: app.fetch,
  scheduled: (_controller, env, ctx) => ctx.waitUntil(purgeOAuthData(env)),
} satisfies ExportedHandler<Env>;
