import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import AxeBuilder from "@axe-core/playwright";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, expect } from "vitest";
import { launchBrowser } from "../../tools/browser";
import { freePort } from "../../tools/free-port";
import { type LocalStack, repoRoot, startLocalStack } from "../../tools/local-stack";

/**
 * What every browser test needs: a local stack of its own (wrangler dev, the
 * local libSQL server, the fake Stripe, the outbox) and Chromium, a review
 * of each page (axe, then a screenshot in both colour schemes under
 * .muninn/screenshots/), and a person signed up through the pages.
 */
export const SCREENSHOTS = join(repoRoot, ".muninn", "screenshots");

export const PASSWORD = "a perfectly fine passphrase";

export interface BrowserStack {
  readonly stack: LocalStack;
  readonly browser: Browser;
  /** The stack's state folder, removed after the file's tests: a place for downloads. */
  readonly stateDir: string;
}

/**
 * Start a stack and Chromium before the file's tests and stop both after.
 * `vars` (the Worker's extra variables) is read when the stack starts, so it
 * may name something an earlier `beforeAll` started.
 */
export function useBrowserStack(options: { vars?: () => Record<string, string> } = {}): BrowserStack {
  let stack: LocalStack | undefined;
  let browser: Browser | undefined;
  let stateDir: string | undefined;
  beforeAll(async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    stateDir = await mkdtemp(join(tmpdir(), "muninn-browser-"));
    stack = await startLocalStack({
      port: await freePort(),
      libsqlPort: await freePort(),
      stateDir,
      ...(options.vars && { vars: options.vars() }),
    });
    browser = await launchBrowser();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });
  return {
    get stack() {
      if (!stack) throw new Error("the local stack is not started (use it inside a test)");
      return stack;
    },
    get browser() {
      if (!browser) throw new Error("the browser is not launched (use it inside a test)");
      return browser;
    },
    get stateDir() {
      if (!stateDir) throw new Error("the local stack is not started (use it inside a test)");
      return stateDir;
    },
  };
}

export const newEmail = (tag: string) => `${tag}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.test`;

/** No serious or critical accessibility violation, then `<prefix>-<name>-<scheme>.png` in light and in dark. */
export async function review(page: Page, name: string, prefix = "console"): Promise<void> {
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    const { violations } = await new AxeBuilder({ page }).analyze();
    const serious = violations
      .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
      .map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`);
    expect(serious, `${name} (${scheme})`).toEqual([]);
    // axe calls a repeated id minor; for a label's `for` it means the second field has no name at all.
    const repeated = await page.evaluate(() => {
      const seen = new Map<string, number>();
      for (const element of document.querySelectorAll("[id]")) seen.set(element.id, (seen.get(element.id) ?? 0) + 1);
      return [...seen].filter(([, count]) => count > 1).map(([id]) => id);
    });
    expect(repeated, `${name}: ids used more than once`).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, `${prefix}-${name}-${scheme}.png`), fullPage: true });
  }
  await page.emulateMedia({ colorScheme: "light" });
}

/** The absolute link to `path` (`/verify`, `/reset`, …) with its token in a message's text. */
export function linkIn(text: string, path: string): string {
  const match = new RegExp(`https?://\\S+${path}\\?token=[A-Za-z0-9]+`).exec(text);
  if (!match) throw new Error(`no ${path} link in:\n${text}`);
  return match[0];
}

/** Sign up on the pages and confirm the address from the outbox: the page ends on the console, signed in. */
export async function signUp(
  stack: LocalStack,
  context: BrowserContext,
  tag: string,
): Promise<{ page: Page; email: string; team: string }> {
  const base = stack.info.baseUrl;
  const email = newEmail(tag);
  const team = `${tag} team ${Math.floor(Math.random() * 1e4)}`;
  const page = await context.newPage();
  await page.goto(`${base}/signup`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByLabel("Team name").fill(team);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("heading", { name: "Check your email" }).waitFor();
  await page.goto(linkIn((await stack.outbox.next(email)).text, "/verify"));
  await page.getByRole("button", { name: "Confirm email" }).click();
  await page.waitForURL(/\/app\/connect/);
  return { page, email, team };
}
