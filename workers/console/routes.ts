import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { AppError } from "../../shared/errors";
import type { ConsoleEnv } from "./context";
import { appPages } from "./routes/app";
import { appsPages } from "./routes/apps";
import { assets } from "./routes/assets";
import { billingPages } from "./routes/billing";
import { dataPages, IMPORT_PATH } from "./routes/data";
import { invitePages } from "./routes/invite";
import { memoriesPages } from "./routes/memories";
import { memoryActions } from "./routes/memory-actions";
import { publicPages } from "./routes/public";
import { recoveryPages } from "./routes/recovery";
import { teamPages } from "./routes/team";
import { usagePages } from "./routes/usage";
import { loadSession } from "./session";

/**
 * The web console: server-rendered pages on the API's own origin. Forms
 * are small, so bodies over 16 KB are refused before they are read — all
 * but the import upload, which its route limits after sign-in.
 */
export const consolePages = new Hono<ConsoleEnv>();

const FORM_LIMIT_BYTES = 16 * 1024;
const PAGE_PATHS = [
  "/",
  "/signup",
  "/signin",
  "/signout",
  "/forgot",
  "/reset",
  "/verify",
  "/verify/*",
  "/verify-email",
  "/invite",
  "/invite/*",
  "/app",
  "/app/*",
];

const formLimit = bodyLimit({
  maxSize: FORM_LIMIT_BYTES,
  onError: () => {
    throw new AppError("payload_too_large", `Form bodies are limited to ${FORM_LIMIT_BYTES} bytes.`);
  },
});

consolePages.route("/", assets as unknown as Hono<ConsoleEnv>);
for (const path of PAGE_PATHS) {
  consolePages.use(path, (c, next) => (c.req.path === IMPORT_PATH ? next() : formLimit(c, next)), loadSession());
}
consolePages.route("/", publicPages);
consolePages.route("/", recoveryPages);
consolePages.route("/", appPages);
consolePages.route("/", appsPages);
consolePages.route("/", teamPages);
consolePages.route("/", invitePages);
consolePages.route("/", usagePages);
consolePages.route("/", billingPages);
consolePages.route("/", dataPages);
// The fixed paths (/app/memories/issues, /live, /bulk) before the memory page's `/app/memories/:id`.
consolePages.route("/", memoriesPages);
consolePages.route("/", memoryActions);
