/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { AppError } from "../../shared/errors";
import { render } from "../console/render";
import { errorAnswer } from "../error-answer";
import type { AdminEnv } from "./context";
import { ErrorPage } from "./pages/frame";
import { adminHealth } from "./routes/health";
import { adminMoves } from "./routes/moves";
import { adminSignin } from "./routes/signin";
import { adminTenantPages } from "./routes/tenants";
import { adminWebhookPages } from "./routes/webhooks";
import { loadOperator, requireOperator } from "./session";

/**
 * `/admin`: the operator's console, server-rendered with the tenant
 * console's components. Every page but sign-in needs an operator session
 * (workers/admin-console/session.ts); nothing a tenant holds — an API key,
 * an OAuth token, a console session — is looked at, let alone accepted.
 * Each action calls the same function as the admin API
 * (workers/api/admin/operations.ts).
 */
export const adminConsole = new Hono<AdminEnv>();

const FORM_LIMIT_BYTES = 16 * 1024;

adminConsole.use(
  "/admin/*",
  bodyLimit({
    maxSize: FORM_LIMIT_BYTES,
    onError: () => {
      throw new AppError("payload_too_large", `Form bodies are limited to ${FORM_LIMIT_BYTES} bytes.`);
    },
  }),
  loadOperator(),
);
// Deny by default: every path under /admin ("/admin/*" covers "/admin" too) needs an operator,
// except the two that make or end one. A page added later is behind sign-in without asking.
const OPEN_PATHS = new Set(["/admin/signin", "/admin/signout"]);
adminConsole.use("/admin/*", async (c, next) => {
  if (OPEN_PATHS.has(c.req.path)) return next();
  return requireOperator()(c, next);
});
adminConsole.get("/admin", (c) => c.redirect("/admin/tenants", 303));
adminConsole.route("/", adminSignin);
adminConsole.route("/", adminTenantPages);
adminConsole.route("/", adminWebhookPages);
adminConsole.route("/", adminMoves);
adminConsole.route("/", adminHealth);

/** Any other path under /admin (an operator's typo): 404. */
adminConsole.all("/admin/*", (c) => render(c, <ErrorPage message={`There is no page ${c.req.path}.`} />, 404));

/**
 * A failed action is shown as a page (with the same safe message the API
 * would give), not as JSON: the operator is in a browser.
 */
adminConsole.onError((error, c) => {
  const answer = errorAnswer(error, c.get("logger"), { surface: "http" });
  for (const [name, value] of Object.entries(answer.headers)) c.header(name, value);
  return render(c, <ErrorPage message={answer.message} />, answer.status);
});
