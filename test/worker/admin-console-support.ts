import { expect } from "vitest";
import { Browser } from "./console-support";
import { config } from "./support";

/** A browser signed in to /admin as `name`. */
export async function operatorBrowser(name = "alice"): Promise<Browser> {
  const browser = new Browser();
  const { csrf } = await browser.page("/admin/signin");
  const answer = await browser.post("/admin/signin", { csrf, name, token: config.adminToken });
  expect(answer.status).toBe(303);
  expect(answer.headers.get("location")).toBe("/admin/tenants");
  return browser;
}

/** The text of a page with tags removed and whitespace collapsed, for reading what a person sees. */
export function textOf(html: string): string {
  return html
    .replace(/<[^>]+>/g, " ")
    .replace(/&amp;/g, "&")
    .replace(/&#39;|&#x27;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/\s+/g, " ");
}
