import { describe, expect, it } from "vitest";
import { teamsOf } from "../../shared/teams/memberships";
import { Browser, emailPerTest, linkIn, newEmail, signedUpBrowser, signIn } from "./console-support";
import { post, TOOLS_LIST } from "./mcp-support";
import { openMgmtDb } from "./support";
import { api, member, person, rememberStatus } from "./teams-support";

const mail = emailPerTest();

const PASSWORD = "a perfectly fine passphrase";

/** The invitation page a link opens, in this browser. */
async function openInvitation(browser: Browser, to: string) {
  return browser.page(linkIn(await mail.next(to), "/invite"));
}

function hiddenToken(html: string): string {
  return /name="token" value="([^"]+)"/.exec(html)?.[1] ?? "";
}

describe("invitations in the browser", () => {
  it("someone without an account signs up from the link and lands in the inviting team as its member, with no team of their own", async () => {
    const owner = await person("welcoming");
    const email = newEmail("newcomer");
    expect((await api(owner.key, "/invitations", { method: "POST", body: { email, role: "member" } })).status).toBe(
      201,
    );
    const browser = new Browser();
    const page = await openInvitation(browser, email);
    expect(page.response.status).toBe(200);
    expect(page.html).toContain("Join welcoming team on Muninn");
    expect(page.html).toContain(`value="${email}" readonly`);
    expect(page.html).toContain(`${owner.email.split("@")[0]} invited`);

    const weak = await browser.post("/invite/signup", {
      csrf: page.csrf,
      token: hiddenToken(page.html),
      name: "Ada",
      password: "short",
    });
    expect(weak.status).toBe(400);
    // A name that would reverse the lines it is shown in is refused, with nothing created.
    const reversing = await browser.post("/invite/signup", {
      csrf: page.csrf,
      token: hiddenToken(page.html),
      name: "Ada\u202Egnp.exe",
      password: PASSWORD,
    });
    expect(reversing.status).toBe(400);
    expect(await reversing.text()).toContain("Your name cannot contain control characters.");
    const none = await openMgmtDb().execute(
      { sql: "SELECT COUNT(*) AS n FROM users WHERE email = ?", args: [email] },
      "read",
    );
    expect(Number(none.rows[0]?.n)).toBe(0);
    const joined = await browser.post("/invite/signup", {
      csrf: page.csrf,
      token: hiddenToken(page.html),
      name: "Ada",
      password: PASSWORD,
    });
    expect(joined.status).toBe(303);
    expect(joined.headers.get("location")).toBe("/app/team?done=joined");
    const team = await browser.page("/app/team");
    expect(team.html).toContain("Team welcoming team");
    expect(team.html).toContain("You are this team&#39;s <strong>member</strong>");
    expect(team.html).toContain("<td>Ada</td>");
    expect(team.html).not.toContain("Send invitation");
    const account = await openMgmtDb().execute(
      { sql: "SELECT id, email_verified_at FROM users WHERE email = ?", args: [email] },
      "read",
    );
    expect(account.rows[0]?.email_verified_at).not.toBeNull();
    expect((await teamsOf(openMgmtDb(), String(account.rows[0]?.id))).map((t) => t.tenantId)).toEqual([owner.tenantId]);
    const own = await openMgmtDb().execute(
      { sql: "SELECT COUNT(*) AS n FROM tenants WHERE owner_email = ?", args: [email] },
      "read",
    );
    expect(Number(own.rows[0]?.n)).toBe(0);
    // The link is spent.
    const again = await browser.page(`/invite?token=${hiddenToken(page.html)}`);
    expect(again.response.status).toBe(410);
  });

  it("someone with an account joins after signing in, the console switches to the team, and the switcher goes back", async () => {
    const owner = await person("hosting");
    const { browser, email } = await signedUpBrowser(mail, "existing");
    expect((await api(owner.key, "/invitations", { method: "POST", body: { email, role: "viewer" } })).status).toBe(
      201,
    );
    const page = await openInvitation(browser, email);
    expect(page.html).toContain("Join hosting team");
    const joined = await browser.post("/invite/accept", { csrf: page.csrf, token: hiddenToken(page.html) });
    expect(joined.headers.get("location")).toBe("/app/team?done=joined");
    const team = await browser.page("/app/team");
    expect(team.html).toContain("Team hosting team");
    expect(team.html).toContain("<strong>viewer</strong>");
    expect(team.html).toContain("Switch team");
    const own = (
      await teamsOf(
        openMgmtDb(),
        (
          await openMgmtDb().execute({ sql: "SELECT id FROM users WHERE email = ?", args: [email] }, "read")
        ).rows[0]?.id as string,
      )
    ).find((t) => t.tenantId !== owner.tenantId);
    const switched = await browser.post("/app/team/switch", { csrf: team.csrf, team: own?.tenantId ?? "" });
    expect(switched.status).toBe(303);
    expect((await browser.page("/app/team")).html).toContain("Team existing team");
    const foreign = await browser.post("/app/team/switch", {
      csrf: team.csrf,
      team: (await person("notmine")).tenantId,
    });
    expect(foreign.status).toBe(404);
    expect((await browser.page("/app/team")).html).toContain("Team existing team");
    // Back in the hosting team, leaving it keeps them signed in to their own.
    await browser.post("/app/team/switch", { csrf: team.csrf, team: owner.tenantId });
    const hosting = await browser.page("/app/team");
    expect(hosting.html).toContain("Leave this team");
    const left = await browser.post("/app/team/leave", { csrf: hosting.csrf });
    expect(left.headers.get("location")).toBe("/app/team?done=left");
    expect((await browser.page("/app/team")).html).toContain("Team existing team");
    expect(((await (await api(owner.key, "/members")).json()) as { data: unknown[] }).data).toHaveLength(1);
  });

  it("a link opened while signed in as another address is refused, saying which address it was for", async () => {
    const owner = await person("strict");
    const { browser } = await signedUpBrowser(mail, "wrongperson");
    const invited = newEmail("rightperson");
    expect((await api(owner.key, "/invitations", { method: "POST", body: { email: invited } })).status).toBe(201);
    const page = await openInvitation(browser, invited);
    expect(page.response.status).toBe(403);
    expect(page.html).toContain(`This invitation was sent to ${invited}`);
  });
});

describe("the team page", () => {
  it("an admin invites, resends, revokes, changes a role and removes a member, whose key stops at once", async () => {
    const owner = await person("console");
    const ada = await member(mail, owner, "cada", "member");
    const browser = new Browser();
    expect((await signIn(browser, owner.email, "a long enough passphrase")).status).toBe(303);
    const page = await browser.page("/app/team");
    expect(page.html).toContain("Send invitation");
    const email = newEmail("formed");
    expect(
      (await browser.post("/app/team/invite", { csrf: page.csrf, email, role: "viewer" })).headers.get("location"),
    ).toBe("/app/team?done=invited");
    const first = await mail.next(email);
    const listed = await browser.page("/app/team");
    expect(listed.html).toContain(email);
    const invitationId = /\/app\/team\/invitations\/(inv_[A-Za-z0-9]+)\/resend/.exec(listed.html)?.[1] ?? "";
    expect((await browser.post(`/app/team/invitations/${invitationId}/resend`, { csrf: page.csrf })).status).toBe(303);
    expect(linkIn(await mail.next(email), "/invite")).not.toBe(linkIn(first, "/invite"));
    expect((await browser.post(`/app/team/invitations/${invitationId}/revoke`, { csrf: page.csrf })).status).toBe(303);
    expect((await browser.page("/app/team")).html).not.toContain(email);

    expect(
      (await browser.post(`/app/team/members/${ada.userId}/role`, { csrf: page.csrf, role: "viewer" })).status,
    ).toBe(303);
    expect((await browser.page("/app/team")).html).toMatch(/cada[^<]*<\/td><td>viewer<\/td>/);
    expect((await post(ada.teamKey, TOOLS_LIST)).status).toBe(200);
    const confirm = await browser.page(`/app/team/members/${ada.userId}/remove`);
    expect(confirm.html).toContain("Remove from the team");
    expect(
      (await browser.post(`/app/team/members/${ada.userId}/remove`, { csrf: page.csrf })).headers.get("location"),
    ).toBe("/app/team?done=removed");
    expect((await post(ada.teamKey, TOOLS_LIST)).status).toBe(401);
    // Someone else's team's member, guessed: not found here.
    const other = await member(mail, await person("elsewhere"), "otherada", "member");
    expect((await browser.post(`/app/team/members/${other.userId}/remove`, { csrf: page.csrf })).status).toBe(404);
    expect((await post(other.teamKey, TOOLS_LIST)).status).toBe(200);
  });

  it("a member's console: no member management, only their own keys, no billing, no deletion; a viewer cannot import", async () => {
    const owner = await person("limits");
    const { browser, email } = await signedUpBrowser(mail, "limited");
    expect((await api(owner.key, "/invitations", { method: "POST", body: { email, role: "viewer" } })).status).toBe(
      201,
    );
    const invitation = await openInvitation(browser, email);
    await browser.post("/invite/accept", { csrf: invitation.csrf, token: hiddenToken(invitation.html) });
    const team = await browser.page("/app/team");
    expect(
      (await browser.post("/app/team/invite", { csrf: team.csrf, email: newEmail("x"), role: "member" })).status,
    ).toBe(403);
    const keys = await browser.page("/app/keys");
    expect(keys.html).not.toContain("test key");
    const created = await browser.post("/app/keys", {
      csrf: team.csrf,
      name: "too much",
      scopes: "mcp:tools",
      expires: "",
    });
    expect(created.status).toBe(400);
    expect(await created.text()).toContain("As a team viewer your keys cannot carry mcp:tools");
    const readOnly = await browser.post("/app/keys", {
      csrf: team.csrf,
      name: "reader",
      scopes: "mcp:read",
      expires: "",
    });
    expect(readOnly.status).toBe(200);
    expect((await browser.post("/app/billing/portal", { csrf: team.csrf })).status).toBe(403);
    expect((await browser.post("/app/data/delete", { csrf: team.csrf, team_name: "limits team" })).status).toBe(403);
    const body = new FormData();
    body.append("csrf", team.csrf);
    body.append("file", new File(['{"content":"x"}\n'], "m.jsonl"));
    expect((await browser.fetch("/app/data/import", { method: "POST", body })).status).toBe(403);
    expect(((await (await api(owner.key, "/members")).json()) as { data: unknown[] }).data).toHaveLength(2);
  });

  it("the memories room names the member who wrote each memory, and a viewer reads it but cannot change it", async () => {
    const owner = await person("roomowner");
    const browser = new Browser();
    expect((await signIn(browser, owner.email, "a long enough passphrase")).status).toBe(303);
    const tenantId = owner.tenantId;
    const ownerKey = owner.key;
    const ada = await member(mail, { key: ownerKey, tenantId }, "ada", "member");
    expect(await rememberStatus(ada.teamKey, "Ada's finding")).toBe(200);
    const list = await browser.page("/app/memories");
    const adaName = ada.email.split("@")[0] ?? "";
    expect(list.html).toContain(`by ${adaName} (key “ada&#39;s key”)`);
    const id = /href="\/app\/memories\/(m_[A-Za-z0-9_-]+)"/.exec(list.html)?.[1] ?? "";
    expect((await browser.page(`/app/memories/${id}`)).html).toContain(`by ${adaName} (key`);

    const vic = await member(mail, { key: ownerKey, tenantId }, "vic", "viewer");
    const viewer = new Browser();
    expect((await signIn(viewer, vic.email, "a long enough passphrase")).status).toBe(303);
    const team = await viewer.page("/app/team");
    const switched = await viewer.post("/app/team/switch", { csrf: team.csrf, team: tenantId });
    expect(switched.status).toBe(303);
    const shown = await viewer.page(`/app/memories/${id}`);
    expect(shown.html).toContain("Ada&#39;s finding");
    const forget = await viewer.post(`/app/memories/${id}/forget`, { csrf: shown.csrf });
    expect(forget.status).toBe(403);
    expect(await forget.text()).toContain("As a team viewer you cannot change memories");
    expect((await browser.page(`/app/memories/${id}`)).html).not.toContain("Restore");
  });
});
