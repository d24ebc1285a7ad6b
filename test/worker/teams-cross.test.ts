import { describe, expect, it } from "vitest";
import { acceptInvitation, signUpFromInvitation } from "../../shared/teams/joining";
import { memberDisplayNames, teamsOf } from "../../shared/teams/memberships";
import { createApiKey } from "../../shared/tenants/api-keys";
import { emailPerTest, newEmail } from "./console-support";
import { openMgmtDb } from "./support";
import { api, grantFor, invite, listedIds, listedMemories, member, person, rememberStatus } from "./teams-support";

const mail = emailPerTest();

describe("a member of team A never reads or changes team B", () => {
  it("with a key and an OAuth grant bound to A, every route and tool answers about A only, B's ids guessed", async () => {
    const teamA = await person("teama");
    const teamB = await person("teamb");
    const admin = await member(mail, teamA, "crossadmin", "admin");
    const bMember = await member(mail, teamB, "bmember", "member");
    const bInvitation = await invite(mail, teamB.key, newEmail("bpending"), "viewer");
    const bGrantToken = await grantFor(bMember, teamB.tenantId, 2);
    const [bGrant] = await listedIds(teamB.key, "/oauth/grants");
    expect(bGrant).toBeDefined();
    expect(await rememberStatus(teamB.key, "team B secret plan")).toBe(200);
    const aToken = await grantFor(admin, teamA.tenantId, 2, "mcp:tools keys:manage members:manage");

    for (const credential of [admin.teamKey, aToken]) {
      expect(await listedIds(credential, "/members")).toEqual([teamA.userId, admin.userId]);
      expect(await listedIds(credential, "/invitations")).toEqual([]);
      const keys = await listedIds(credential, "/keys", "member_id");
      expect(keys).not.toContain(teamB.userId);
      expect(keys).not.toContain(bMember.userId);
      expect(await listedIds(credential, "/oauth/grants")).not.toContain(bGrant);
      for (const [method, path, body] of [
        ["PATCH", `/members/${bMember.userId}`, { role: "viewer" }],
        ["DELETE", `/members/${bMember.userId}`, undefined],
        ["DELETE", `/invitations/${bInvitation.id}`, undefined],
        ["POST", `/invitations/${bInvitation.id}/resend`, undefined],
        ["DELETE", `/keys/${bMember.teamKeyId}`, undefined],
        ["DELETE", `/oauth/grants/${bGrant}`, undefined],
      ] as const) {
        expect((await api(credential, path, { method, body })).status, `${method} ${path}`).toBe(404);
      }
      expect(await listedMemories(credential)).not.toContain("team B secret plan");
    }
    // Nothing of B changed: its member, invitation, key and grant are all still there.
    expect(await listedIds(teamB.key, "/members")).toEqual([teamB.userId, bMember.userId]);
    expect(await listedIds(teamB.key, "/invitations")).toEqual([bInvitation.id]);
    expect(await rememberStatus(bMember.teamKey)).toBe(200);
    expect(await rememberStatus(bGrantToken)).toBe(200);
    expect(await listedMemories(teamB.key)).toContain("team B secret plan");
  });

  it("a person in two teams sees each only through the credential bound to it", async () => {
    const teamA = await person("twoa");
    const both = await member(mail, teamA, "both", "admin");
    expect(await rememberStatus(both.key, "zephyr in my own team")).toBe(200);
    expect(await rememberStatus(both.teamKey, "zephyr in team A")).toBe(200);
    expect(await listedIds(both.key, "/members")).toEqual([both.userId]);
    expect(await listedIds(both.teamKey, "/members")).toEqual([teamA.userId, both.userId]);
    expect(await listedMemories(both.key)).not.toContain("zephyr in team A");
    expect(await listedMemories(both.teamKey)).not.toContain("zephyr in my own team");
    const ownToken = await grantFor(both, both.tenantId, 2);
    expect(await listedMemories(ownToken)).toContain("zephyr in my own team");
    expect(await listedMemories(ownToken)).not.toContain("zephyr in team A");
  });

  it("resolves account ids to display names only for people who are or were in the team", async () => {
    const team = await person("names");
    const ada = await member(mail, team, "ada", "member");
    const stranger = await person("stranger");
    await openMgmtDb().execute(
      { sql: "UPDATE users SET display_name = 'Ada Lovelace' WHERE id = ?", args: [ada.userId] },
      "write",
    );
    const names = await memberDisplayNames(openMgmtDb(), team.tenantId, [
      ada.userId,
      team.userId,
      stranger.userId,
      "usr_unknown",
    ]);
    expect(Object.fromEntries(names)).toEqual({
      [ada.userId]: "Ada Lovelace",
      [team.userId]: team.email.split("@")[0],
    });
    // Removed, she keeps her name on what she wrote (her revoked key still ties her to the team).
    expect((await api(team.key, `/members/${ada.userId}`, { method: "DELETE" })).status).toBe(200);
    expect((await memberDisplayNames(openMgmtDb(), team.tenantId, [ada.userId])).get(ada.userId)).toBe("Ada Lovelace");
  });
});

describe("deleting a team", () => {
  it("revokes every member's credentials for it, keeps a member's other teams, and deletes accounts that had only it", async () => {
    const team = await person("doomed");
    const other = await person("survivor");
    // Both joined through links, so the doomed team is their home; one is also in another team.
    const onlyHere = newEmail("onlyhere");
    const alsoElsewhere = newEmail("alsoelsewhere");
    const db = openMgmtDb();
    const ids: Record<string, string> = {};
    for (const email of [onlyHere, alsoElsewhere]) {
      const { token } = await invite(mail, team.key, email, "member");
      ids[email] = (await signUpFromInvitation(db, token, { password: "a long enough passphrase" })).userId;
    }
    const { token } = await invite(mail, other.key, alsoElsewhere, "viewer");
    await acceptInvitation(db, token, { id: ids[alsoElsewhere] ?? "", email: alsoElsewhere });
    const doomedKey = await createApiKey(db, team.tenantId, {
      name: "k",
      scopes: ["mcp:tools"],
      userId: ids[alsoElsewhere],
    });
    const token2 = await grantFor({ email: alsoElsewhere }, team.tenantId, 2);
    expect(await rememberStatus(token2)).toBe(200);

    const deleted = await api(team.key, "/account", { method: "DELETE", body: { confirm: team.tenantId } });
    expect(deleted.status).toBe(200);
    expect((await api(doomedKey.key, "/me")).status).toBe(401);
    expect((await api(token2, "/me")).status).toBe(401);
    const accounts = await db.execute(
      { sql: "SELECT email, tenant_id FROM users WHERE email IN (?, ?)", args: [onlyHere, alsoElsewhere] },
      "read",
    );
    expect(accounts.rows.map((row) => ({ ...row }))).toEqual([{ email: alsoElsewhere, tenant_id: other.tenantId }]);
    expect((await teamsOf(db, ids[alsoElsewhere] ?? "")).map((t) => t.tenantId)).toEqual([other.tenantId]);
  });
});
