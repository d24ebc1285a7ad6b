import { describe, expect, it, vi } from "vitest";
import { removeMember } from "../../shared/teams/memberships";
import { createApiKey } from "../../shared/tenants/api-keys";
import { emailPerTest } from "./console-support";
import { post, TOOLS_LIST } from "./mcp-support";
import { openMgmtDb } from "./support";
import { api, grantFor, member, person, rememberStatus } from "./teams-support";

const mail = emailPerTest();

describe("roles bound every credential", () => {
  it("a viewer's credentials only ever read, whatever scopes a key was stored with", async () => {
    const owner = await person("vowner");
    const viewer = await member(mail, owner, "viewer", "viewer");
    expect(await rememberStatus(owner.key, "owner's fact")).toBe(200);
    expect(await rememberStatus(viewer.teamKey)).toBe(403);
    const wide = await createApiKey(openMgmtDb(), owner.tenantId, {
      name: "old",
      scopes: ["mcp:tools", "keys:manage"],
      userId: viewer.userId,
    });
    expect(await rememberStatus(wide.key)).toBe(403);
    expect((await post(wide.key, TOOLS_LIST)).status).toBe(200);
    expect((await api(wide.key, "/keys")).status).toBe(403);
    const me = (await (await api(wide.key, "/me")).json()) as { scopes: string[] };
    expect(me.scopes).toEqual(["mcp:read"]);
    // A viewer's OAuth grant carries mcp:read only, though the app asked for more.
    const token = await grantFor(viewer, owner.tenantId, 2);
    expect(await rememberStatus(token)).toBe(403);
    expect(((await (await api(token, "/me")).json()) as { scopes: string[] }).scopes).toEqual(["mcp:read"]);
  });

  it("a member manages only their own keys, and not members, billing or the team", async () => {
    const owner = await person("mowner");
    const ada = await member(mail, owner, "ada", "member");
    expect(await rememberStatus(ada.teamKey)).toBe(200);
    const listed = (await (await api(ada.teamKey, "/keys")).json()) as { data: { id: string; member_id: string }[] };
    expect(listed.data.map((key) => key.member_id)).toEqual([ada.userId]);
    const tooWide = await api(ada.teamKey, "/keys", {
      method: "POST",
      body: { name: "x", scopes: ["members:manage"] },
    });
    expect(tooWide.status).toBe(403);
    expect(await tooWide.json()).toMatchObject({ error: { code: "scope_exceeds_role" } });
    const own = await api(ada.teamKey, "/keys", { method: "POST", body: { name: "ci", scopes: ["mcp:read"] } });
    expect(own.status).toBe(201);
    expect(await own.json()).toMatchObject({ member_id: ada.userId });
    const ownerKeys = (await (await api(owner.key, "/keys")).json()) as { data: { id: string; member_id: string }[] };
    const ownersKey = ownerKeys.data.find((key) => key.member_id === owner.userId)?.id ?? "";
    expect((await api(ada.teamKey, `/keys/${ownersKey}`, { method: "DELETE" })).status).toBe(404);
    expect((await api(ada.teamKey, "/members")).status).toBe(403);
    expect((await api(ada.teamKey, "/invitations", { method: "POST", body: { email: "x@example.test" } })).status).toBe(
      403,
    );
    const billing = await api(ada.teamKey, "/billing/portal", { method: "POST" });
    expect(billing.status).toBe(403);
    expect(await billing.json()).toMatchObject({ error: { code: "role_forbidden" } });
    const deletion = await api(ada.teamKey, "/account", { method: "DELETE" });
    expect(deletion.status).toBe(403);
    expect(await deletion.json()).toMatchObject({ error: { code: "role_forbidden" } });
  });

  it("an admin manages members, everyone's keys and apps, but not the owner, billing or the team", async () => {
    const owner = await person("aowner");
    const admin = await member(mail, owner, "admin", "admin");
    const bob = await member(mail, owner, "bob", "member");
    const listed = (await (await api(admin.teamKey, "/keys")).json()) as { data: { member_id: string }[] };
    expect(new Set(listed.data.map((key) => key.member_id))).toEqual(new Set([owner.userId, admin.userId, bob.userId]));
    expect((await api(admin.teamKey, `/keys/${bob.teamKeyId}`, { method: "DELETE" })).status).toBe(200);
    expect(
      (await api(admin.teamKey, `/members/${bob.userId}`, { method: "PATCH", body: { role: "viewer" } })).status,
    ).toBe(200);
    const ownerRole = await api(admin.teamKey, `/members/${owner.userId}`, {
      method: "PATCH",
      body: { role: "member" },
    });
    expect(ownerRole.status).toBe(409);
    expect(await ownerRole.json()).toMatchObject({ error: { code: "owner_role_fixed" } });
    const removeOwner = await api(admin.teamKey, `/members/${owner.userId}`, { method: "DELETE" });
    expect(removeOwner.status).toBe(409);
    expect(await removeOwner.json()).toMatchObject({ error: { code: "owner_cannot_be_removed" } });
    expect((await api(admin.teamKey, `/members/${bob.userId}`, { method: "DELETE" })).status).toBe(200);
    expect((await api(admin.teamKey, "/billing/portal", { method: "POST" })).status).toBe(403);
    expect((await api(admin.teamKey, "/account", { method: "DELETE" })).status).toBe(403);
    const audit = await openMgmtDb().execute(
      {
        sql: "SELECT actor, metadata FROM audit_log WHERE tenant_id = ? AND action = 'member.remove'",
        args: [owner.tenantId],
      },
      "read",
    );
    expect(audit.rows[0]?.actor).toBe(`user:${admin.userId}`);
    expect(JSON.parse(String(audit.rows[0]?.metadata))).toMatchObject({
      actingMember: admin.userId,
      via: expect.stringMatching(/^key:/),
    });
  });

  it("lowering a role narrows the member's key and OAuth grant at once on this isolate", async () => {
    const owner = await person("lowner");
    const ada = await member(mail, owner, "lada", "member");
    const token = await grantFor(ada, owner.tenantId, 2);
    expect(await rememberStatus(ada.teamKey)).toBe(200);
    expect(await rememberStatus(token)).toBe(200);
    expect((await api(owner.key, `/members/${ada.userId}`, { method: "PATCH", body: { role: "viewer" } })).status).toBe(
      200,
    );
    expect(await rememberStatus(ada.teamKey)).toBe(403);
    expect(await rememberStatus(token)).toBe(403);
    expect((await post(ada.teamKey, TOOLS_LIST)).status).toBe(200);
    const keys = (await (await api(owner.key, "/keys")).json()) as { data: { id: string; scopes: string[] }[] };
    expect(keys.data.find((key) => key.id === ada.teamKeyId)?.scopes).toEqual(["mcp:read"]);
  });

  it("a removed member's key and OAuth grant answer 401 on the next request here, and are revoked, not orphaned", async () => {
    const owner = await person("rowner");
    const ada = await member(mail, owner, "rada", "member");
    const token = await grantFor(ada, owner.tenantId, 2);
    const ownToken = await grantFor(ada, ada.tenantId, 2);
    expect((await post(ada.teamKey, TOOLS_LIST)).status).toBe(200);
    expect((await post(token, TOOLS_LIST)).status).toBe(200);
    const grants = (await (await api(owner.key, "/oauth/grants")).json()) as { data: { member_id: string }[] };
    expect(grants.data.map((grant) => grant.member_id)).toEqual([ada.userId]);

    const removed = await api(owner.key, `/members/${ada.userId}`, { method: "DELETE" });
    expect(removed.status).toBe(200);
    const refused = await post(ada.teamKey, TOOLS_LIST);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { message: expect.stringContaining("API key revoked") } });
    expect((await post(token, TOOLS_LIST)).status).toBe(401);
    // Her own team's grant and key are hers still.
    expect((await post(ownToken, TOOLS_LIST)).status).toBe(200);
    expect((await post(ada.key, TOOLS_LIST)).status).toBe(200);
    const row = await openMgmtDb().execute(
      { sql: "SELECT revoked_at FROM api_keys WHERE id = ?", args: [ada.teamKeyId] },
      "read",
    );
    expect(row.rows[0]?.revoked_at).not.toBeNull();
    expect(((await (await api(owner.key, "/oauth/grants")).json()) as { data: unknown[] }).data).toEqual([]);
  });

  it("removed on another isolate, a member's key and OAuth token stop here once the cached verification is 60 s old", async () => {
    const owner = await person("eowner");
    const ada = await member(mail, owner, "eada", "member");
    const token = await grantFor(ada, owner.tenantId, 2);
    expect((await post(ada.teamKey, TOOLS_LIST)).status).toBe(200);
    expect((await post(token, TOOLS_LIST)).status).toBe(200);
    // Another isolate removed her: only the management database changed (the grant, in the OAuth store, is still there).
    await removeMember(
      openMgmtDb(),
      owner.tenantId,
      { userId: owner.userId, role: "owner", actor: "test", via: "test", ip: null },
      ada.userId,
    );
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 59_000);
    expect((await post(ada.teamKey, TOOLS_LIST)).status).toBe(200);
    expect((await post(token, TOOLS_LIST)).status).toBe(200);
    vi.setSystemTime(Date.now() + 2_000);
    expect((await post(ada.teamKey, TOOLS_LIST)).status).toBe(401);
    const refused = await post(token, TOOLS_LIST);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { message: expect.stringContaining("no longer a member") } });
  });
});
