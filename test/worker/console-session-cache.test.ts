import { afterEach, describe, expect, it, vi } from "vitest";
import { SESSION_CACHE_MS } from "../../workers/console/session-cache";
import { Browser, captureEmail, linkIn, signedUpBrowser as signedUp, signIn } from "./console-support";
import { openMgmtDb } from "./support";

/**
 * Console sessions are cached per isolate (workers/console/session-cache.ts).
 * These tests run in one isolate: what the test changes in the management DB
 * directly is what another isolate would change.
 */
const mail = captureEmail();
const signedUpBrowser = (tag?: string) => signedUp(mail, tag);

afterEach(() => {
  vi.useRealTimers();
});

async function idHashOf(browser: Browser): Promise<string> {
  const id = browser.cookies.get("__Host-muninn-session") ?? "";
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(id));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function idleDeadline(browser: Browser): Promise<string> {
  const result = await openMgmtDb().execute(
    { sql: "SELECT idle_expires_at FROM console_sessions WHERE id_hash = ?", args: [await idHashOf(browser)] },
    "read",
  );
  return String(result.rows[0]?.idle_expires_at);
}

/** Two browsers of one account, both with a page served (so both sessions are cached here). */
async function twoCachedSessions(tag: string): Promise<{ browser: Browser; elsewhere: Browser; email: string }> {
  const { browser, email } = await signedUpBrowser(tag);
  const elsewhere = new Browser();
  await signIn(elsewhere, email);
  expect((await browser.fetch("/app/keys")).status).toBe(200);
  expect((await elsewhere.fetch("/app/keys")).status).toBe(200);
  return { browser, elsewhere, email };
}

describe("console session cache", () => {
  it("a session ended on another isolate stops here once its cached verification is 30 s old", async () => {
    expect(SESSION_CACHE_MS).toBe(30_000);
    const { browser } = await signedUpBrowser("elsewhere");
    expect((await browser.fetch("/app/keys")).status).toBe(200);
    // Another isolate signs this session out: only the management DB changes.
    await openMgmtDb().execute(
      { sql: "DELETE FROM console_sessions WHERE id_hash = ?", args: [await idHashOf(browser)] },
      "write",
    );
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 29_000);
    expect((await browser.fetch("/app/keys")).status).toBe(200);
    vi.setSystemTime(Date.now() + 2_000);
    const ended = await browser.fetch("/app/keys");
    expect(ended.status).toBe(303);
    expect(ended.headers.get("location")).toBe("/signin?next=%2Fapp%2Fkeys");
  });

  it("sign-out ends a cached session on this isolate at once", async () => {
    const { browser } = await signedUpBrowser("signout");
    const { csrf } = await browser.page("/app/keys");
    const copy = new Browser();
    copy.cookies.set("__Host-muninn-session", browser.cookies.get("__Host-muninn-session") ?? "");
    expect((await copy.fetch("/app/keys")).status).toBe(200);
    expect((await browser.post("/signout", { csrf })).status).toBe(303);
    expect((await copy.fetch("/app/keys")).status).toBe(303);
  });

  it("a password change ends every other cached session of the account at once", async () => {
    const { browser, elsewhere, email } = await twoCachedSessions("pwcache");
    const other = await signedUpBrowser("bystander");
    expect((await other.browser.fetch("/app/keys")).status).toBe(200);
    const { csrf } = await browser.page("/app/settings");
    const changed = await browser.post("/app/settings/password", {
      csrf,
      current_password: "a perfectly fine passphrase",
      new_password: "another fine passphrase",
    });
    expect(changed.status).toBe(303);
    expect((await elsewhere.fetch("/app/keys")).status).toBe(303);
    expect((await browser.fetch("/app/keys")).status).toBe(200);
    // Another account's session is left alone.
    expect((await other.browser.fetch("/app/keys")).status).toBe(200);
    expect((await signIn(new Browser(), email, "another fine passphrase")).status).toBe(303);
  });

  it("sign out everywhere ends every cached session of the account at once", async () => {
    const { browser, elsewhere } = await twoCachedSessions("everywhere");
    const { csrf } = await browser.page("/app/settings");
    expect((await browser.post("/app/settings/sign-out-everywhere", { csrf })).status).toBe(303);
    expect((await elsewhere.fetch("/app/keys")).status).toBe(303);
    expect((await browser.fetch("/app/keys")).status).toBe(303);
  });

  it("a password reset ends every cached session of the account at once", async () => {
    const { browser, elsewhere, email } = await twoCachedSessions("resetcache");
    const anon = new Browser();
    const forgot = await anon.page("/forgot");
    expect((await anon.post("/forgot", { csrf: forgot.csrf, email })).status).toBe(200);
    const link = linkIn(await mail.next(email), "/reset");
    const form = await anon.page(link);
    const token = new URL(link, "http://x").searchParams.get("token") ?? "";
    const done = await anon.post("/reset", { csrf: form.csrf, token, password: "a brand new passphrase" });
    expect(done.status).toBe(303);
    expect((await browser.fetch("/app/keys")).status).toBe(303);
    expect((await elsewhere.fetch("/app/keys")).status).toBe(303);
  });

  it("caching never extends a session: the idle deadline holds at once, however fresh the cache", async () => {
    const { browser } = await signedUpBrowser("idlecache");
    expect((await browser.fetch("/app/keys")).status).toBe(200);
    const deadline = Date.parse(await idleDeadline(browser));
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(deadline + 1);
    expect((await browser.fetch("/app/keys")).status).toBe(303);
  });

  it("use pushes the idle deadline forward at most once every 5 minutes, cached or not", async () => {
    const { browser } = await signedUpBrowser("touch");
    expect((await browser.fetch("/app/keys")).status).toBe(200);
    const first = await idleDeadline(browser);
    const start = Date.now();
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(start + 6 * 60_000);
    expect((await browser.fetch("/app/keys")).status).toBe(200);
    const touched = await idleDeadline(browser);
    expect(Date.parse(touched)).toBeGreaterThan(Date.parse(first));
    // Within the cache's bound and past it, but within 5 minutes of the touch: no write.
    for (const later of [10_000, 2 * 60_000, 4 * 60_000]) {
      vi.setSystemTime(start + 6 * 60_000 + later);
      expect((await browser.fetch("/app/keys")).status).toBe(200);
      expect(await idleDeadline(browser)).toBe(touched);
    }
    vi.setSystemTime(start + 12 * 60_000);
    expect((await browser.fetch("/app/keys")).status).toBe(200);
    expect(Date.parse(await idleDeadline(browser))).toBeGreaterThan(Date.parse(touched));
  });
});
