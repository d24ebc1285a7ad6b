import type { Config } from "../../shared/config";
import { createLogger, describeError } from "../../shared/logging";
import { authorizationServer } from "./oauth-server";

/** The cron expression (wrangler.toml `[triggers]`) of the hourly OAuth purge. */
export const OAUTH_PURGE_CRON = "47 * * * *";

/**
 * Remove expired and orphaned OAuth grants, tokens and registrations from
 * `OAUTH_KV` (KV TTLs drop most records on their own; this sweeps what a TTL
 * cannot, such as a grant whose client was deleted). Sweeps in resumable
 * batches, bounded per run; the next hourly run sweeps again from the start.
 */
export async function purgeOAuthData(config: Config, env: Env): Promise<void> {
  const logger = createLogger({ component: "oauth-purge" });
  const server = authorizationServer(config);
  try {
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
