import { Hono } from "hono";
import { DatabaseUnavailableError } from "../shared/db/guarded";
import { AppError, unavailable } from "../shared/errors";
import { isFencedWrite } from "../shared/lifecycle/move/write-fence";
import { describeError } from "../shared/logging";
import { tenantMigratingError } from "./admission";
import { api } from "./api/routes";
import { oauthRoutes } from "./auth/oauth-routes";
import { mcp } from "./mcp/routes";
import { requestContext } from "./middleware/request-context";
import { health } from "./ops/health";
import { metrics } from "./ops/metrics";
import type { AppEnv } from "./types";
import { stripeWebhooks } from "./webhooks/stripe";

export function createApp() {
  const app = new Hono<AppEnv>();
  app.use(requestContext());
  app.route("/", health);
  app.route("/", metrics);
  app.route("/api", api);
  app.route("/", oauthRoutes);
  app.route("/", stripeWebhooks);
  app.route("/", mcp);

  app.notFound((c) => c.json(new AppError("not_found", `no route for ${c.req.method} ${c.req.path}`).toBody(), 404));
  app.onError((caught, c) => {
    let error = caught;
    if (error instanceof DatabaseUnavailableError) {
      const message =
        error.target === "managementDb" ? "Cannot connect to management database" : "database unavailable";
      c.get("logger")?.error(message, {
        target: error.target,
        database: error.database,
        ...describeError(error.cause),
      });
      error = unavailable("database unavailable", { retryAfterSeconds: error.retryAfterSeconds });
    }
    if (isFencedWrite(error)) error = tenantMigratingError();
    if (error instanceof AppError) {
      for (const [name, value] of Object.entries(error.options.headers ?? {})) c.header(name, value);
      return c.json(error.toBody(), error.status as 400);
    }
    c.get("logger")?.error("unhandled error", describeError(error));
    return c.json(new AppError("internal", "internal error").toBody(), 500);
  });
  return app;
}
