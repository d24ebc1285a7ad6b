import { Hono } from "hono";
import { AppError } from "../shared/errors";
import { describeError } from "../shared/logging";
import { requestContext } from "./middleware/request-context";
import { health } from "./ops/health";
import type { AppEnv } from "./types";

export function createApp() {
  const app = new Hono<AppEnv>();
  app.use(requestContext());
  app.route("/", health);

  app.notFound((c) => c.json(new AppError("not_found", `no route for ${c.req.method} ${c.req.path}`).toBody(), 404));
  app.onError((error, c) => {
    if (error instanceof AppError) {
      for (const [name, value] of Object.entries(error.options.headers ?? {})) c.header(name, value);
      return c.json(error.toBody(), error.status as 400);
    }
    c.var.logger?.error("unhandled error", describeError(error));
    return c.json(new AppError("internal", "internal error").toBody(), 500);
  });
  return app;
}
