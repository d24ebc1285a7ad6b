import { Hono } from "hono";
import { AppError } from "../shared/errors";
import { MissingScopeError } from "../shared/memory/access";
import { adminConsole } from "./admin-console/routes";
import { api } from "./api/routes";
import { oauthRoutes } from "./auth/oauth-routes";
import { scopeChallenge } from "./auth/require-scope";
import { consolePages } from "./console/routes";
import { errorAnswer, errorBody } from "./error-answer";
import { mcp } from "./mcp/routes";
import { bodyLimits } from "./middleware/body-limit";
import { hostGuard } from "./middleware/host-guard";
import { requestContext } from "./middleware/request-context";
import { health } from "./ops/health";
import { metrics } from "./ops/metrics";
import type { AppEnv } from "./types";
import { MAX_WEBHOOK_BYTES, stripeWebhooks } from "./webhooks/stripe";

export function createApp() {
  const app = new Hono<AppEnv>();
  app.use(requestContext());
  // DNS rebinding: the API, the metrics and the local stack's metrics flush answer only this deployment's hosts.
  app.use("/api/*", hostGuard());
  app.use("/metrics", hostGuard());
  app.use("/dev/*", hostGuard());
  // Every body is limited while it streams, before anything parses it; unlisted paths get 64 KiB.
  app.use(
    bodyLimits([
      ["/webhooks/stripe", MAX_WEBHOOK_BYTES],
      // These limit their bodies themselves, after authentication (an MCP message, an import file).
      ["/mcp", "route"],
      ["/api/import", "route"],
      ["/app/data/import", "route"],
      [/^\/api\/tenants\/[^/]+\/import$/, "route"],
      // The local stack's metrics-flush endpoint (benchmarks): its schema's own bound.
      ["/dev/metrics/flush", 24 * 1024 * 1024],
    ]),
  );
  app.route("/", health);
  app.route("/", metrics);
  app.route("/api", api);
  app.route("/", oauthRoutes);
  app.route("/", stripeWebhooks);
  app.route("/", mcp);
  app.route("/", adminConsole as unknown as Hono<AppEnv>);
  app.route("/", consolePages as unknown as Hono<AppEnv>);

  app.notFound((c) => c.json(new AppError("not_found", `no route for ${c.req.method} ${c.req.path}`).toBody(), 404));
  // The one HTTP rendering of workers/error-answer.ts's translation.
  app.onError((error, c) => {
    // The memory door refuses in domain terms; HTTP adds the challenge naming the scope to ask for.
    const refusal = error instanceof MissingScopeError ? scopeChallenge(c.get("services").config, error) : error;
    const answer = errorAnswer(refusal, c.get("logger"), { surface: "http" });
    for (const [name, value] of Object.entries(answer.headers)) c.header(name, value);
    return c.json(errorBody(answer), answer.status);
  });
  return app;
}
