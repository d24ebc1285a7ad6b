import { Hono } from "hono";
import { SCRIPT_PATH, STYLESHEET_PATH } from "../ui/layout";
import { CONSOLE_JS } from "../ui/script";
import { CONSOLE_CSS } from "../ui/styles";

/**
 * The stylesheet and script, as files on this origin (the CSP allows
 * `'self'` and nothing inline). Cached for an hour: they change only with a
 * deploy, and a stale hour is harmless.
 */
export const assets = new Hono();

const served = (body: string, type: string) => () =>
  new Response(body, {
    headers: {
      "Content-Type": `${type}; charset=utf-8`,
      "Cache-Control": "public, max-age=3600",
      "X-Content-Type-Options": "nosniff",
    },
  });

assets.get(STYLESHEET_PATH, served(CONSOLE_CSS, "text/css"));
assets.get(SCRIPT_PATH, served(CONSOLE_JS, "text/javascript"));
