import { describe, expect, it } from "vitest";
import { createApiKey } from "../../shared/tenants/api-keys";
import { emailPerTest } from "./console-support";
import { post, TOOLS_LIST } from "./mcp-support";
import { ADMIN, newTenant, openMgmtDb, workerFetch } from "./support";
import { api, grantFor, member, person } from "./teams-support";

const mail = emailPerTest();

describe("leaving a team through the API", () => {
  it("DELETE /api/members/me: the member is gone, their keys and grants in the team stop, their own team's stay; audited as a leave", async () => {
    const owner = await person("lowner");
    const ada = await member(mail, owner, "lada", "member");
    const token = await grantFor(ada, owner.tenantId, 2);
    const ownToken = await grantFor(ada, ada.tenantId, 2);
    expect((await post(token, TOOLS_LIST)).status).toBe(200);

    const left = await api(ada.teamKey, "/members/me", { method: "DELETE" });
    expect(left.status, await left.clone().text()).toBe(200);
    expect(await left.json()).toMatchObject({ object: "member", id: ada.userId, role: "member", left: true });

    const refused = await post(ada.teamKey, TOOLS_LIST);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { message: expect.stringContaining("API key revoked") } });
    expect((await post(token, TOOLS_LIST)).status).toBe(401);
    expect((await post(ownToken, TOOLS_LIST)).status).toBe(200);
    expect((await post(ada.key, TOOLS_LIST)).status).toBe(200);
    const members = (await (await api(owner.key, "/members")).json()) as { data: { id: string }[] };
    expect(members.data.map((m) => m.id)).toEqual([owner.userId]);
    expect(((await (await api(owner.key, "/oauth/grants")).json()) as { data: unknown[] }).data).toEqual([]);

    const audit = await workerFetch(`/api/audit-log?tenant_id=${owner.tenantId}&action=member.leave`, {
      headers: ADMIN,
    });
    expect(audit.status).toBe(200);
    const entries = ((await audit.json()) as { data: { actor: string; target: string; details: unknown }[] }).data;
    expect(entries).toEqual([
      expect.objectContaining({
        actor: `user:${ada.userId}`,
        target: owner.tenantId,
        details: expect.objectContaining({ member: ada.userId, actingMember: ada.userId, via: `key:${ada.teamKeyId}` }),
      }),
    ]);
  });

  it("an admin leaves with their OAuth token; `/me` is never read as a member id to remove", async () => {
    const owner = await person("aowner");
    const admin = await member(mail, owner, "aadmin", "admin");
    const bob = await member(mail, owner, "abob", "member");
    const token = await grantFor(admin, owner.tenantId, 2, "mcp:tools keys:manage members:manage");
    const left = await api(token, "/members/me", { method: "DELETE" });
    expect(left.status, await left.clone().text()).toBe(200);
    expect(await left.json()).toMatchObject({ id: admin.userId, role: "admin", left: true });
    const members = (await (await api(owner.key, "/members")).json()) as { data: { id: string }[] };
    expect(members.data.map((m) => m.id).sort()).toEqual([owner.userId, bob.userId].sort());
    expect((await api(token, "/members")).status).toBe(401);
  });

  it("refuses the owner (409, transfer first), a read-only key (403 with the scope to ask for), and a key of no member", async () => {
    const owner = await person("rowner2");
    const ownerLeaves = await api(owner.key, "/members/me", { method: "DELETE" });
    expect(ownerLeaves.status).toBe(409);
    expect(await ownerLeaves.json()).toMatchObject({
      error: { code: "owner_cannot_leave", message: expect.stringContaining("transfer ownership") },
    });

    const vic = await member(mail, owner, "rvic", "viewer");
    const viewerLeaves = await api(vic.teamKey, "/members/me", { method: "DELETE" });
    expect(viewerLeaves.status).toBe(403);
    expect(viewerLeaves.headers.get("www-authenticate")).toContain('scope="keys:manage"');
    const ada = await member(mail, owner, "rada2", "member");
    const readOnly = await createApiKey(openMgmtDb(), owner.tenantId, {
      name: "agent",
      scopes: ["mcp:read"],
      userId: ada.userId,
    });
    expect((await api(readOnly.key, "/members/me", { method: "DELETE" })).status).toBe(403);
    // Still members: nothing changed.
    const members = (await (await api(owner.key, "/members")).json()) as { data: { id: string }[] };
    expect(members.data.map((m) => m.id)).toEqual(expect.arrayContaining([owner.userId, vic.userId, ada.userId]));

    // A tenant made without an owner account: its key belongs to no member.
    const bare = await newTenant();
    const nobodys = await createApiKey(openMgmtDb(), bare.tenant.id, {
      name: "ops",
      scopes: ["mcp:tools", "keys:manage"],
    });
    const nobody = await api(nobodys.key, "/members/me", { method: "DELETE" });
    expect(nobody.status).toBe(409);
    expect(await nobody.json()).toMatchObject({ error: { code: "not_a_member" } });
  });
});

describe("an ownership transfer made on another isolate", () => {
  it("the old owner's cached credential may still say owner, but paying, deleting, offering ownership and changing members read the role fresh", async () => {
    const owner = await person("xowner");
    const heir = await member(mail, owner, "xheir", "admin");
    const other = await member(mail, owner, "xother", "admin");
    expect(((await (await api(owner.key, "/me")).json()) as { role: string }).role).toBe("owner");
    // Another isolate completed the transfer: only the management database changed, this isolate's cache did not.
    const db = openMgmtDb();
    await db.execute(
      {
        sql: "UPDATE memberships SET role = 'admin' WHERE tenant_id = ? AND user_id = ?",
        args: [owner.tenantId, owner.userId],
      },
      "write",
    );
    await db.execute(
      {
        sql: "UPDATE memberships SET role = 'owner' WHERE tenant_id = ? AND user_id = ?",
        args: [owner.tenantId, heir.userId],
      },
      "write",
    );
    // The bound docs/auth.md states: the cached verification still names the old role here.
    expect(((await (await api(owner.key, "/me")).json()) as { role: string }).role).toBe("owner");

    for (const [path, method, body] of [
      ["/billing/portal", "POST", undefined],
      ["/account", "DELETE", undefined],
      [`/members/${other.userId}`, "PATCH", { role: "owner" }],
    ] as const) {
      const refused = await api(owner.key, path, { method, body });
      expect(refused.status, `${method} ${path}`).toBe(403);
      expect(await refused.json()).toMatchObject({ error: { code: "role_forbidden" } });
    }
    // An admin lowered to member on another isolate: their cached key still carries members:manage,
    // but removing or changing someone reads their role fresh.
    const vic = await member(mail, owner, "xvic", "viewer");
    expect((await api(other.teamKey, "/members")).status).toBe(200);
    await db.execute(
      {
        sql: "UPDATE memberships SET role = 'member' WHERE tenant_id = ? AND user_id = ?",
        args: [owner.tenantId, other.userId],
      },
      "write",
    );
    for (const [method, body] of [
      ["DELETE", undefined],
      ["PATCH", { role: "member" }],
    ] as const) {
      const refused = await api(other.teamKey, `/members/${vic.userId}`, { method, body });
      expect(refused.status, method).toBe(403);
      expect(await refused.json()).toMatchObject({ error: { code: "role_forbidden" } });
    }
    const members = (await (await api(heir.teamKey, "/members")).json()) as { data: { id: string; role: string }[] };
    expect(Object.fromEntries(members.data.map((m) => [m.id, m.role]))).toEqual({
      [heir.userId]: "owner",
      [owner.userId]: "admin",
      [other.userId]: "member",
      [vic.userId]: "viewer",
    });
  });
});
