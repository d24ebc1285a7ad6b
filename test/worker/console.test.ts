import { beforeAll, describe, expect, it } from "vitest";
import { Browser, captureEmail, csrfOf, linkIn } from "./console-support";
import { openMgmtDb, workerFetch } from "./support";

const PASSWORD = "a perfectly fine passphrase";
const mail = captureEmail();

const newEmail = (tag: string) => `${tag}-${crypto.randomUUID().slice(0, 8)}@example.test`;

/** Sign up on the web and open the verification link: the browser ends signed in. */
async function signedUpBrowser(tag = "person"): Promise<{ browser: Browser; email: string }> {
  const browser = new Browser();
  const email = newEmail(tag);
  const { csrf } = await browser.page("/signup");
  const answer = await browser.post("/signup", { csrf, email, password: PASSWORD, team_name: `${tag} team` });
  expect(answer.status).toBe(200);
  const confirm = await browser.page(linkIn(await mail.next(email), "/verify"));
  expect(confirm.html).toContain("Confirm email");
  const token = /name="token" value="([^"]+)"/.exec(confirm.html)?.[1] ?? "";
  const verified = await browser.post("/verify", { csrf: confirm.csrf, token });
  expect(verified.status).toBe(303);
  expect(verified.headers.get("location")).toBe("/app/connect?verified=1");
  return { browser, email };
}

async function signIn(browser: Browser, email: string, password = PASSWORD): Promise<Response> {
  // A browser already signed in is sent on from /signin; its console pages carry its token.
  const shown = await browser.page("/signin");
  const csrf = shown.csrf || (await browser.page("/app/connect")).csrf;
  return browser.post("/signin", { csrf, email, password });
}

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
      const answer = await browser.fetch("/app/connect");
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

describe("password reset", () => {
  it("answers the same for unknown addresses, works once, ends every session", async () => {
    const { browser, email } = await signedUpBrowser("reset");
    const pages: string[] = [];
    for (const address of [email, newEmail("nobody")]) {
      const anon = new Browser();
      const { csrf } = await anon.page("/forgot");
      const response = await anon.post("/forgot", { csrf, email: address });
      expect(response.status).toBe(200);
      pages.push((await response.text()).replaceAll(address, "ADDRESS"));
    }
    expect(pages[0]).toBe(pages[1]);
    const message = await mail.next(email);
    expect(message.subject).toBe("Reset your Muninn password");
    const link = linkIn(message, "/reset");
    const stranger = new Browser();
    const form = await stranger.page(link);
    const token = new URL(link, "http://x").searchParams.get("token") ?? "";
    const weak = await stranger.post("/reset", { csrf: form.csrf, token, password: "zzzzzzzzzzzz" });
    expect(weak.status).toBe(400);
    const done = await stranger.post("/reset", { csrf: form.csrf, token, password: "a brand new passphrase" });
    expect(done.status).toBe(303);
    expect(done.headers.get("location")).toBe("/signin?reset=1");
    // The old session is gone, the old password fails, the new one works, the link is spent.
    expect((await browser.fetch("/app/connect")).status).toBe(303);
    expect((await signIn(new Browser(), email)).status).toBe(401);
    expect((await signIn(new Browser(), email, "a brand new passphrase")).status).toBe(303);
    const again = await stranger.post("/reset", { csrf: form.csrf, token, password: "yet another passphrase" });
    expect(again.status).toBe(400);
    expect(message.text).not.toMatch(/<img|utm_/);
  });

  it("an expired link opens nothing", async () => {
    const { email } = await signedUpBrowser("expired");
    const anon = new Browser();
    const { csrf } = await anon.page("/forgot");
    await anon.post("/forgot", { csrf, email });
    const link = linkIn(await mail.next(email), "/reset");
    await openMgmtDb().execute(
      {
        sql: "UPDATE email_tokens SET expires_at = '2000-01-01T00:00:00.000Z' WHERE purpose = 'reset' AND email = ?",
        args: [email],
      },
      "write",
    );
    expect((await anon.fetch(link)).status).toBe(400);
    const token = new URL(link, "http://x").searchParams.get("token") ?? "";
    const response = await anon.post("/reset", {
      csrf: csrfOf((await anon.page("/forgot")).html),
      token,
      password: "a brand new passphrase",
    });
    expect(response.status).toBe(400);
  });
});

describe("settings", () => {
  it("changing the password ends every other session and needs the current one", async () => {
    const { browser, email } = await signedUpBrowser("change");
    const elsewhere = new Browser();
    await signIn(elsewhere, email);
    const { csrf } = await browser.page("/app/settings");
    const wrong = await browser.post("/app/settings/password", {
      csrf,
      current_password: "not my password",
      new_password: "another fine passphrase",
    });
    expect(wrong.status).toBe(400);
    const changed = await browser.post("/app/settings/password", {
      csrf,
      current_password: PASSWORD,
      new_password: "another fine passphrase",
    });
    expect(changed.status).toBe(303);
    expect((await browser.fetch("/app/settings")).status).toBe(200);
    expect((await elsewhere.fetch("/app/settings")).status).toBe(303);
  });

  it("a new email takes effect only through the link sent to it; a taken one gets no link", async () => {
    const { browser, email } = await signedUpBrowser("mover");
    const { email: taken } = await signedUpBrowser("occupied");
    const moved = newEmail("moved");
    let page = await browser.page("/app/settings");
    const wrong = await browser.post("/app/settings/email", {
      csrf: page.csrf,
      email: moved,
      current_password: "nope nope nope",
    });
    expect(wrong.status).toBe(400);
    const answer = await browser.post("/app/settings/email", {
      csrf: page.csrf,
      email: moved,
      current_password: PASSWORD,
    });
    expect(answer.status).toBe(200);
    expect(await answer.text()).toContain(`We sent a link to ${moved}`);
    page = await browser.page("/app/settings");
    expect(page.html).toContain(email);
    const sameAnswer = await browser.post("/app/settings/email", {
      csrf: page.csrf,
      email: taken,
      current_password: PASSWORD,
    });
    expect(await sameAnswer.text()).toContain(`We sent a link to ${taken}`);

    const link = linkIn(await mail.next(moved), "/verify-email");
    const confirm = await browser.page(link);
    const token = /name="token" value="([^"]+)"/.exec(confirm.html)?.[1] ?? "";
    expect((await browser.post("/verify-email", { csrf: confirm.csrf, token })).status).toBe(303);
    expect((await browser.page("/app/settings")).html).toContain(moved);
    expect((await signIn(new Browser(), moved)).status).toBe(303);
    expect((await signIn(new Browser(), email)).status).toBe(401);
    // No message went to the taken address's owner about this account.
    expect(mail.sent.some((message) => message.to === taken)).toBe(false);
  });

  it("the audit trail lists sign-ins and key changes", async () => {
    const { browser, email } = await signedUpBrowser("audit");
    await signIn(browser, email);
    const { html } = await browser.page("/app/settings");
    expect(html).toContain("Confirmed email and signed in");
    expect(html).toContain("<td>Signed in</td>");
    expect(html).toContain("Created the account");
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
