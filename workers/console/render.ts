import type { Context } from "hono";
import type { JSX } from "hono/jsx/jsx-runtime";
import { applyPageHeaders } from "./page-headers";

/** A server-rendered page with the page headers (CSP, no framing, no referrer, no caching). */
export async function render(c: Context, page: JSX.Element, status = 200): Promise<Response> {
  const response = c.html(`<!doctype html>${(await page).toString()}`, status as 200);
  applyPageHeaders(response.headers);
  return response;
}
