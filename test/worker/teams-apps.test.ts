import { describe, expect, it } from "vitest";
import { Browser, emailPerTest, signIn } from "./console-support";
import { post, TOOLS_LIST } from "./mcp-support";
import { ADMIN, openMgmtDb, workerFetch } from "./support";
import { api, grantFor, member, person } from "./teams-support";

const mail = emailPerTest();

const PASSWORD = "a long enough passphrase";

/** A console browser signed in as `email`, showing `tenantId`. */
async function consoleIn(email: string, tenantId: string): Promise<Browser> {
  const browser = new Browser();
  expect((await signIn(browser, email, PASSWORD)).status).toBe(303);
  const team = await browser.page("/app/team");
  const switched = await browser.post("/app/team/switch", { csrf: team.csrf, team: tenantId });
  expect(switched.status).toBe(303);
  return browser;
}

const revokeLinks = (html: string) => [...html.matchAll(/\/app\/apps\/([^/"]+)\/revoke/g)].map((m) => m[1]);

describe("/app/apps in a team", () => {
  it("owners and admins see every member's apps with who granted each and may revoke them (audited); members see only their own", async () => {
    const owner = await person("appsowner");
    const ada = await member(mail, owner, "appsada", "member");
    const bea = await member(mail, owner, "appsbea", "admin");
    const adaToken = await grantFor(ada, owner.tenantId, 2);
    const beaToken = await grantFor(bea, owner.tenantId, 2);
    // Ada's app for her own team is not this team's.
    const adaOwnTeamToken = await grantFor(ada, ada.tenantId, 2);
    const listed = (await (await api(owner.key, "/oauth/grants")).json()) as {
      data: { id: string; member_id: string }[];
    };
    const grantOf = (userId: string) => listed.data.find((grant) => grant.member_id === userId)?.id ?? "";
    const [adaGrant, beaGrant] = [grantOf(ada.userId), grantOf(bea.userId)];
    expect(adaGrant).not.toBe("");
    expect(beaGrant).not.toBe("");

    const owners = await consoleIn(owner.email, owner.tenantId);
    const everyone = await owners.page("/app/apps");
    expect(everyone.html).toContain('<th scope="col">Granted by</th>');
    expect(everyone.html).toContain(`<td>${ada.email}</td>`);
    expect(everyone.html).toContain(`<td>${bea.email}</td>`);
    expect(revokeLinks(everyone.html).sort()).toEqual([adaGrant, beaGrant].sort());

    const adas = await consoleIn(ada.email, owner.tenantId);
    const own = await adas.page("/app/apps");
    expect(own.html).not.toContain("Granted by");
    expect(revokeLinks(own.html)).toEqual([adaGrant]);
    // A member cannot revoke an admin's app, whatever id they post.
    expect((await adas.fetch(`/app/apps/${beaGrant}/revoke`)).status).toBe(404);
    expect((await adas.post(`/app/apps/${beaGrant}/revoke`, { csrf: own.csrf })).status).toBe(303);
    expect((await post(beaToken, TOOLS_LIST)).status).toBe(200);

    const confirm = await owners.page(`/app/apps/${adaGrant}/revoke`);
    expect(confirm.html).toContain(`Granted by ${ada.email}`);
    expect((await owners.post(`/app/apps/${adaGrant}/revoke`, { csrf: confirm.csrf })).status).toBe(303);
    expect((await post(adaToken, TOOLS_LIST)).status).toBe(401);
    expect((await post(adaOwnTeamToken, TOOLS_LIST)).status).toBe(200);
    expect(revokeLinks((await owners.page("/app/apps")).html)).toEqual([beaGrant]);

    const audit = await workerFetch(`/api/audit-log?tenant_id=${owner.tenantId}&action=oauth_grant.revoke`, {
      headers: ADMIN,
    });
    const entries = ((await audit.json()) as { data: { actor: string; details: unknown }[] }).data;
    expect(entries).toEqual([
      expect.objectContaining({
        actor: `user:${owner.userId}`,
        details: expect.objectContaining({ grantId: adaGrant, member: ada.userId, via: "console" }),
      }),
    ]);
  });

  it("an owner who handed the team over on another isolate cannot delete it from a console session cached as owner", async () => {
    const owner = await person("consoleowner");
    const heir = await member(mail, owner, "consoleheir", "admin");
    const owners = await consoleIn(owner.email, owner.tenantId);
    const data = await owners.page("/app/data");
    const db = openMgmtDb();
    for (const [role, userId] of [
      ["admin", owner.userId],
      ["owner", heir.userId],
    ] as const) {
      await db.execute(
        {
          sql: "UPDATE memberships SET role = ? WHERE tenant_id = ? AND user_id = ?",
          args: [role, owner.tenantId, userId],
        },
        "write",
      );
    }
    const refused = await owners.post("/app/data/delete", { csrf: data.csrf, team_name: "consoleowner team" });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain("As a team admin you cannot delete the team");
    expect((await api(heir.teamKey, "/members")).status).toBe(200);
  });
});
