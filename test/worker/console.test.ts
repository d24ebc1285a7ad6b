import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { SESSION_CACHE_MS } from "../../workers/console/session-cache";
import {
  Browser,
  captureEmail,
  csrfOf,
  linkIn,
  newEmail,
  PASSWORD,
  signedUpBrowser as signedUp,
  signIn,
} from "./console-support";
import { openMgmtDb, workerFetch } from "./support";

const mail = captureEmail();
const signedUpBrowser = (tag?: string) => signedUp(mail, tag);

afterEach(() => {
  vi.useRealTimers();
});

describe("console pages", () => {
  it("every page forbids framing, inline script and referrers", async () => {
    const { browser } = await signedUpBrowser("headers");
    for (const path of ["/", "/signup", "/signin", "/forgot", "/app/connect", "/app/keys", "/app/settings"]) {
      const response = await (path.startsWith("/app") ? browser : new Browser()).fetch(path);
      expect(response.status, path).toBe(200);
      const csp = response.headers.get("content-security-policy") ?? "";
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).not.toContain("unsafe-inline");
      expect(response.headers.get("x-frame-options"), path).toBe("DENY");
      expect(response.headers.get("referrer-policy"), path).toBe("no-referrer");
      expect(response.headers.get("cache-control"), path).toBe("no-store");
    }
  });

  it("the session cookie is __Host-, HttpOnly, Secure and SameSite=Lax", async () => {
    const { email } = await signedUpBrowser("cookie");
    const browser = new Browser();
    const response = await signIn(browser, email);
    expect(response.status).toBe(303);
    const cookie = response.headers.getSetCookie().find((line) => line.startsWith("__Host-muninn-session="));
    expect(cookie).toBeDefined();
    expect(cookie).toMatch(/; HttpOnly/i);
    expect(cookie).toMatch(/; Secure/i);
    expect(cookie).toMatch(/; SameSite=Lax/i);
    expect(cookie).toMatch(/; Path=\//i);
    expect(cookie).not.toMatch(/Domain=/i);
  });

  it("a session id the browser brought is never adopted at sign-in (fixation)", async () => {
    const { email } = await signedUpBrowser("fixation");
    const browser = new Browser();
    const planted = "A".repeat(32);
    browser.cookies.set("__Host-muninn-session", planted);
    await signIn(browser, email);
    expect(browser.cookies.get("__Host-muninn-session")).toBeDefined();
    expect(browser.cookies.get("__Host-muninn-session")).not.toBe(planted);
    const attacker = new Browser();
    attacker.cookies.set("__Host-muninn-session", planted);
    expect((await attacker.fetch("/app/keys")).status).toBe(303);
  });

  it("signing in again rotates the session and sign-out ends it on the server", async () => {
    const { browser, email } = await signedUpBrowser("rotate");
    const first = browser.cookies.get("__Host-muninn-session");
    await signIn(browser, email);
    const second = browser.cookies.get("__Host-muninn-session");
    expect(second).not.toBe(first);
    const stolen = new Browser();
    stolen.cookies.set("__Host-muninn-session", second ?? "");
    expect((await stolen.fetch("/app/connect")).status).toBe(200);
    const { csrf } = await browser.page("/app/connect");
    expect((await browser.post("/signout", { csrf })).status).toBe(303);
    expect((await stolen.fetch("/app/connect")).status).toBe(303);
  });

  it("a session ends after its idle time and after its absolute lifetime, whichever comes first", async () => {
    for (const column of ["idle_expires_at", "expires_at"]) {
      const { browser } = await signedUpBrowser(`lifetime-${column.slice(0, 4)}`);
      expect((await browser.fetch("/app/connect")).status).toBe(200);
      const id = browser.cookies.get("__Host-muninn-session") ?? "";
      const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(id));
      const idHash = [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
      const ended = await openMgmtDb().execute(
        { sql: `UPDATE console_sessions SET ${column} = '2000-01-01T00:00:00.000Z' WHERE id_hash = ?`, args: [idHash] },
        "write",
      );
      expect(ended.rowsAffected, column).toBe(1);
      // Changed behind this isolate's session cache, as another isolate would: it holds for the cache's bound.
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(Date.now() + SESSION_CACHE_MS + 1);
      const answer = await browser.fetch("/app/connect");
      vi.useRealTimers();
      expect(answer.status, column).toBe(303);
      expect(answer.headers.get("location")).toBe("/signin?next=%2Fapp%2Fconnect");
      const gone = await openMgmtDb().execute(
        { sql: "SELECT 1 FROM console_sessions WHERE id_hash = ?", args: [idHash] },
        "read",
      );
      expect(gone.rows, column).toHaveLength(0);
    }
  });

  it("signup answers the same for a taken address and mails its owner instead", async () => {
    const { email } = await signedUpBrowser("taken");
    const fresh = newEmail("fresh");
    const answers: string[] = [];
    for (const address of [email, fresh]) {
      const browser = new Browser();
      const { csrf } = await browser.page("/signup");
      const response = await browser.post("/signup", { csrf, email: address, password: PASSWORD, team_name: "Again" });
      expect(response.status).toBe(200);
      expect(response.headers.getSetCookie().some((line) => line.startsWith("__Host-muninn-session="))).toBe(false);
      answers.push((await response.text()).replaceAll(address, "ADDRESS").replace(/value="[^"]+"/g, ""));
    }
    expect(answers[0]).toBe(answers[1]);
    expect((await mail.next(email)).subject).toBe("You already have a Muninn account");
    expect((await mail.next(fresh)).subject).toBe("Confirm your email for Muninn");
  });

  it("a weak password is refused on the form, keeping the other values and never the password", async () => {
    const browser = new Browser();
    const { csrf } = await browser.page("/signup");
    for (const password of ["zzzzzzzzzzzz", "            ", "abcabcabcabc"]) {
      const response = await browser.post("/signup", {
        csrf,
        email: "weak@example.test",
        password,
        team_name: "Kept <b>",
      });
      expect(response.status).toBe(400);
      const html = await response.text();
      expect(html).toContain('role="alert"');
      expect(html).toContain('value="weak@example.test"');
      expect(html).toContain('value="Kept &lt;b&gt;"');
      if (password.trim()) expect(html).not.toContain(password);
    }
  });

  it("an unverified account sees the banner until it opens the link", async () => {
    const browser = new Browser();
    const email = newEmail("banner");
    const { csrf } = await browser.page("/signup");
    await browser.post("/signup", { csrf, email, password: PASSWORD, team_name: "Banner" });
    const message = await mail.next(email);
    expect(message.text).toContain("http://localhost/verify?token=");
    await signIn(browser, email);
    expect((await browser.page("/app/connect")).html).toContain("Confirm your email address");
    const confirm = await browser.page(linkIn(message, "/verify"));
    const token = /name="token" value="([^"]+)"/.exec(confirm.html)?.[1] ?? "";
    await browser.post("/verify", { csrf: confirm.csrf, token });
    expect((await browser.page("/app/connect")).html).not.toContain("Confirm your email address");
    // The link works once.
    const later = new Browser();
    const { csrf: laterCsrf } = await later.page("/signin");
    expect((await later.post("/verify", { csrf: laterCsrf, token })).status).toBe(400);
  });
});

describe("verification", () => {
  it("an unverified account cannot change billing until it opens the link; the API signup mails one too", async () => {
    const email = newEmail("billing");
    const signup = await workerFetch("/api/signup", {
      method: "POST",
      headers: { "content-type": "application/json", "cf-connecting-ip": "203.0.113.77" },
      body: JSON.stringify({ email, password: PASSWORD, org_name: "Billing" }),
    });
    expect(signup.status).toBe(201);
    const { api_key } = (await signup.json()) as { api_key: { key: string } };
    const checkout = () =>
      workerFetch("/api/billing/checkout", {
        method: "POST",
        headers: { authorization: `Bearer ${api_key.key}`, "content-type": "application/json" },
        body: JSON.stringify({ plan: "pro" }),
      });
    const refused = await checkout();
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("email_unverified");
    const browser = new Browser();
    const confirm = await browser.page(linkIn(await mail.next(email), "/verify"));
    await browser.post("/verify", {
      csrf: confirm.csrf,
      token: /name="token" value="([^"]+)"/.exec(confirm.html)?.[1] ?? "",
    });
    expect((await checkout()).status).toBe(200);
  });

  it("resending the link is limited per account", async () => {
    const browser = new Browser();
    const email = newEmail("resend");
    const { csrf } = await browser.page("/signup");
    await browser.post("/signup", { csrf, email, password: PASSWORD, team_name: "Resend" });
    await mail.next(email);
    await signIn(browser, email);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const page = await browser.page("/app/connect");
      statuses.push((await browser.post("/verify/resend", { csrf: page.csrf })).status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});

describe("CSRF", () => {
  let browser: Browser;
  let keyId: string;
  beforeAll(async () => {
    ({ browser } = await signedUpBrowser("csrf"));
    const { csrf } = await browser.page("/app/keys");
    await browser.post("/app/keys", { csrf, name: "target", scopes: "mcp:tools", expires: "" });
    keyId = /\/app\/keys\/([^/]+)\/revoke/.exec((await browser.page("/app/keys")).html)?.[1] ?? "";
    expect(keyId).not.toBe("");
  });

  it("every state-changing form refuses a missing or foreign token and changes nothing", async () => {
    const other = new Browser();
    const foreign = (await other.page("/signup")).csrf;
    const forms: [string, Record<string, string>][] = [
      ["/signup", { email: newEmail("csrf"), password: PASSWORD, team_name: "x" }],
      ["/signin", { email: "a@example.test", password: PASSWORD }],
      ["/forgot", { email: "a@example.test" }],
      ["/reset", { token: "x".repeat(43), password: PASSWORD }],
      ["/verify", { token: "x".repeat(43) }],
      ["/verify-email", { token: "x".repeat(43) }],
      ["/verify/resend", {}],
      ["/app/connect/key", { client: "cursor" }],
      ["/app/keys", { name: "forged", scopes: "mcp:tools", expires: "" }],
      [`/app/keys/${keyId}/revoke`, {}],
      ["/app/settings/password", { current_password: PASSWORD, new_password: "another fine passphrase" }],
      ["/app/settings/email", { email: newEmail("moved"), current_password: PASSWORD }],
      ["/app/settings/sign-out-everywhere", {}],
      ["/signout", {}],
    ];
    for (const [path, fields] of forms) {
      for (const csrf of [undefined, foreign]) {
        const response = await browser.post(path, csrf === undefined ? fields : { ...fields, csrf });
        expect(response.status, `${path} with ${csrf ? "a foreign" : "no"} token`).toBe(403);
      }
    }
    const keys = await browser.page("/app/keys");
    expect(keys.response.status).toBe(200);
    expect(keys.html).toContain(keyId);
    expect(keys.html).not.toContain("forged");
  });
});

describe("keys and isolation", () => {
  it("a key named <script> shows as text, and another account never sees or revokes it", async () => {
    const a = await signedUpBrowser("owner-a");
    const b = await signedUpBrowser("owner-b");
    const { csrf } = await a.browser.page("/app/keys");
    const created = await a.browser.post("/app/keys", {
      csrf,
      name: "<script>alert(1)</script>",
      scopes: ["mcp:read"],
      expires: "",
    });
    const html = await created.text();
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).not.toContain("<script>alert(1)");
    expect(html).toMatch(/mk_[A-Za-z0-9]+/);
    const keyId = /\/app\/keys\/([^/]+)\/revoke/.exec(html)?.[1] ?? "";
    expect((await b.browser.page("/app/keys")).html).not.toContain(keyId);
    expect((await b.browser.fetch(`/app/keys/${keyId}/revoke`)).status).toBe(404);
    const bCsrf = (await b.browser.page("/app/keys")).csrf;
    await b.browser.post(`/app/keys/${keyId}/revoke`, { csrf: bCsrf });
    expect((await a.browser.page("/app/keys")).html).toContain(keyId);
  });
});

describe("connect", () => {
  it("makes a key for the client in place, shown once, and reports the first connection as JSON with the client's name as given", async () => {
    const { browser } = await signedUpBrowser("connect");
    const { csrf } = await browser.page("/app/connect");
    const made = await browser.post("/app/connect/key", { csrf, client: "cursor" });
    const html = await made.text();
    expect(html).toContain("Your key for Cursor");
    expect(html).toContain("Waiting for your first connection…");
    const key = /Bearer (mk_[A-Za-z0-9_]+)/.exec(html)?.[1] ?? "";
    const status = (/data-watch="([^"]+)"/.exec(html)?.[1] ?? "").replaceAll("&amp;", "&");
    const poll = async () =>
      (await (await browser.fetch(status, { headers: { accept: "application/json" } })).json()) as {
        connected: { clientName: string | null; text: string } | null;
      };
    expect((await poll()).connected).toBeNull();
    const initialize = await workerFetch("/mcp", {
      method: "POST",
      headers: {
        authorization: `Bearer ${key}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: {
          protocolVersion: "2025-11-25",
          capabilities: {},
          clientInfo: { name: "<script>x</script>", version: "9" },
        },
      }),
    });
    expect(initialize.status).toBe(200);
    const connected = (await poll()).connected;
    expect(connected?.clientName).toBe("<script>x</script>");
    expect(connected?.text).toMatch(/^Connected: <script>x<\/script> 9 at /);
    const page = await (await browser.fetch(status)).text();
    expect(page).toContain("Connected: &lt;script&gt;x&lt;/script&gt; 9 at ");
    // Shown once: the keys page lists the prefix only.
    expect((await browser.page("/app/keys")).html).not.toContain(key);
  });
});

describe("sign-in limits", () => {
  it("failures from elsewhere do not lock the owner's known browser out", async () => {
    const { email } = await signedUpBrowser("lockout");
    const owner = new Browser();
    expect((await signIn(owner, email)).status).toBe(303);
    await owner.post("/signout", { csrf: (await owner.page("/app/connect")).csrf });
    expect(owner.cookies.has("__Host-muninn-session")).toBe(false);
    let refused = false;
    for (let attempt = 0; attempt < 12; attempt++) {
      const attacker = new Browser();
      const response = await attacker.fetch("/signin");
      const csrf = csrfOf(await response.text());
      const answer = await attacker.post("/signin", { csrf, email, password: `wrong guess ${attempt}` });
      if (answer.status === 429) refused = true;
    }
    expect(refused).toBe(true);
    expect((await signIn(owner, email)).status).toBe(303);
    // A new browser of anyone's is still slowed: the attacker spent that budget.
    expect((await signIn(new Browser(), email)).status).toBe(429);
  });
});
