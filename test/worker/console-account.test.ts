import { describe, expect, it } from "vitest";
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
import { openMgmtDb } from "./support";

/** The console's account flows: password reset and the settings page. */
const mail = captureEmail();
const signedUpBrowser = (tag?: string) => signedUp(mail, tag);

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

  it("a person chooses the name their team sees; a bad one is refused with what they typed kept; empty goes back to the default", async () => {
    const { browser, email } = await signedUpBrowser("named");
    const localPart = email.split("@")[0] as string;
    let page = await browser.page("/app/settings");
    expect(page.html).toContain(`Leave it empty to be shown as “${localPart}”`);
    const saved = await browser.post("/app/settings/name", { csrf: page.csrf, name: "  Ada Lovelace  " });
    expect(saved.status).toBe(303);
    expect(saved.headers.get("location")).toBe("/app/settings?changed=name");
    page = await browser.page("/app/settings?changed=name");
    expect(page.html).toContain("Your name was saved.");
    expect(page.html).toContain('value="Ada Lovelace"');
    expect((await browser.page("/app/team")).html).toContain("<td>Ada Lovelace</td>");

    for (const [name, message] of [
      ["Ada\u202Egnp.exe", "Your name cannot contain control characters."],
      ["Ada\nLovelace", "Your name cannot contain control characters."],
      ["A".repeat(101), "Keep your name to 100 characters."],
    ]) {
      const refused = await browser.post("/app/settings/name", { csrf: page.csrf, name: name as string });
      expect(refused.status).toBe(400);
      const html = await refused.text();
      expect(html).toMatch(new RegExp(`role="alert"[^>]*>[^<]*${(message as string).replace(".", "\\.")}`));
      expect(html).toContain(`value="${(name as string).slice(0, 6)}`);
    }
    const forged = await browser.post("/app/settings/name", { csrf: "not-the-token", name: "Mallory" });
    expect(forged.status).toBe(403);
    expect((await browser.page("/app/team")).html).toContain("<td>Ada Lovelace</td>");

    expect((await browser.post("/app/settings/name", { csrf: page.csrf, name: "" })).status).toBe(303);
    expect((await browser.page("/app/team")).html).toContain(`<td>${localPart}</td>`);
    const db = openMgmtDb();
    const users = await db.execute({ sql: "SELECT id FROM users WHERE email = ?", args: [email] }, "read");
    const userId = users.rows[0]?.id;
    const audit = await db.execute(
      {
        sql: "SELECT actor, metadata FROM audit_log WHERE action = 'account.name_change' AND metadata LIKE ? ORDER BY id",
        args: [`%${userId}%`],
      },
      "read",
    );
    expect(audit.rows.map((row) => JSON.parse(String(row.metadata)).after)).toEqual([
      { displayName: "Ada Lovelace" },
      { displayName: null },
    ]);
    expect(audit.rows.map((row) => row.actor)).toEqual([`user:${userId}`, `user:${userId}`]);
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

  it("the old address is told of an email change, with no link in the message", async () => {
    const { browser, email } = await signedUpBrowser("oldbox");
    const moved = newEmail("newbox");
    const { csrf } = await browser.page("/app/settings");
    expect((await browser.post("/app/settings/email", { csrf, email: moved, current_password: PASSWORD })).status).toBe(
      200,
    );
    // Asking for the change tells the old address nothing yet: only a confirmed change does.
    const link = linkIn(await mail.next(moved), "/verify-email");
    expect(mail.sent.some((message) => message.to === email)).toBe(false);
    const confirm = await browser.page(link);
    const token = /name="token" value="([^"]+)"/.exec(confirm.html)?.[1] ?? "";
    expect((await browser.post("/verify-email", { csrf: confirm.csrf, token })).status).toBe(303);
    const notice = await mail.next(email);
    expect(notice.subject).toBe("Your Muninn email address was changed");
    expect(notice.text).toContain("was changed from this address to");
    expect(notice.text).toContain(`${moved[0]}•••@example.test`);
    expect(notice.text).not.toContain(moved);
    expect(notice.text).toContain("contact Muninn support");
    for (const part of [notice.text, notice.html]) {
      expect(part).not.toMatch(/https?:\/\//);
      expect(part).not.toMatch(/token=/);
    }
    expect(notice.html).not.toContain("<a ");
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
