import { describe, expect, it } from "vitest";
import { openDatabase } from "../../shared/db/client";
import { migrate } from "../../shared/db/migrate";
import { managementMigrations } from "../../shared/migrations/management";
import { emailPerTest, newEmail } from "./console-support";
import { config, openMgmtDb } from "./support";
import { api, invite, member, person } from "./teams-support";

const mail = emailPerTest();

async function pendingFor(tenantId: string, email: string): Promise<number> {
  const result = await openMgmtDb().execute(
    {
      sql: "SELECT COUNT(*) AS n FROM invitations WHERE tenant_id = ? AND email = ? AND accepted_at IS NULL AND revoked_at IS NULL",
      args: [tenantId, email],
    },
    "read",
  );
  return Number(result.rows[0]?.n);
}

async function isMember(tenantId: string, userId: string): Promise<boolean> {
  const result = await openMgmtDb().execute(
    { sql: "SELECT 1 FROM memberships WHERE tenant_id = ? AND user_id = ?", args: [tenantId, userId] },
    "read",
  );
  return result.rows.length === 1;
}

describe("team changes at the same moment", () => {
  it("two admins removing and re-inviting the same person leave one consistent state", async () => {
    const owner = await person("race");
    const first = await member(mail, owner, "admin1", "admin");
    const second = await member(mail, owner, "admin2", "admin");
    for (let round = 0; round < 3; round += 1) {
      const target = await member(mail, owner, `target${round}`, "member");
      const [removed, invited] = await Promise.all([
        api(first.teamKey, `/members/${target.userId}`, { method: "DELETE" }),
        api(second.teamKey, "/invitations", { method: "POST", body: { email: target.email, role: "viewer" } }),
      ]);
      expect(removed.status).toBe(200);
      expect([201, 409]).toContain(invited.status);
      expect(await isMember(owner.tenantId, target.userId)).toBe(false);
      // Invited after the removal: one pending invitation; refused as "already a member": none.
      expect(await pendingFor(owner.tenantId, target.email)).toBe(invited.status === 201 ? 1 : 0);
      const keys = await openMgmtDb().execute(
        {
          sql: "SELECT COUNT(*) AS n FROM api_keys WHERE user_id = ? AND tenant_id = ? AND revoked_at IS NULL",
          args: [target.userId, owner.tenantId],
        },
        "read",
      );
      expect(Number(keys.rows[0]?.n)).toBe(0);
      if (invited.status === 201) {
        expect(
          (await api(owner.key, `/invitations/${((await invited.json()) as { id: string }).id}`, { method: "DELETE" }))
            .status,
        ).toBe(200);
      }
    }
  });

  it("of two removals of one member, one succeeds and one answers 404, with one audit entry", async () => {
    const owner = await person("twice");
    const admin = await member(mail, owner, "tadmin", "admin");
    const target = await member(mail, owner, "ttarget", "member");
    const answers = await Promise.all([
      api(owner.key, `/members/${target.userId}`, { method: "DELETE" }),
      api(admin.teamKey, `/members/${target.userId}`, { method: "DELETE" }),
    ]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 404]);
    const audit = await openMgmtDb().execute(
      {
        sql: "SELECT COUNT(*) AS n FROM audit_log WHERE tenant_id = ? AND action = 'member.remove' AND json_extract(metadata, '$.member') = ?",
        args: [owner.tenantId, target.userId],
      },
      "read",
    );
    expect(Number(audit.rows[0]?.n)).toBe(1);
  });

  it("two invitations of one address: one is sent, the other refused; the last seat goes to one of two", async () => {
    const owner = await person("dup");
    const email = newEmail("dup");
    const both = await Promise.all(
      [0, 1].map(() => api(owner.key, "/invitations", { method: "POST", body: { email } })),
    );
    expect(both.map((answer) => answer.status).sort()).toEqual([201, 409]);
    expect(await pendingFor(owner.tenantId, email)).toBe(1);

    const pro = await person("lastseat", "pro");
    await invite(mail, pro.key, newEmail("seat1"), "member");
    const racing = await Promise.all(
      ["seat2", "seat3"].map((tag) => api(pro.key, "/invitations", { method: "POST", body: { email: newEmail(tag) } })),
    );
    expect(racing.map((answer) => answer.status).sort()).toEqual([201, 402]);
  });

  it("a link used twice at once joins once", async () => {
    const owner = await person("twolinks");
    const guest = await person("twoguest");
    const { token } = await invite(mail, owner.key, guest.email, "member");
    const answers = await Promise.all(
      [0, 1].map(() => api(guest.key, `/invitations/${token}/accept`, { method: "POST" })),
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 410]);
    expect(await isMember(owner.tenantId, guest.userId)).toBe(true);
  });
});

describe("migration 7", () => {
  it("makes every existing account the owner of its tenant, and gives its keys and sessions to it", async () => {
    const db = openDatabase(
      { url: `${config.turso.apiUrl}/teams-${crypto.randomUUID().slice(0, 8)}/`, authToken: config.mgmtDb.authToken },
      10_000,
    );
    await migrate(db, managementMigrations.slice(0, 6));
    await db.batch(
      [
        "INSERT INTO tenants (id, org_name, owner_email) VALUES ('t1', 'One', 'one@example.test'), ('t2', 'Two', 'two@example.test')",
        "INSERT INTO users (id, tenant_id, email) VALUES ('usr_one', 't1', 'one@example.test')",
        "INSERT INTO api_keys (id, tenant_id, prefix, key_hash, name, scopes) VALUES ('k1', 't1', 'mk_', 'h1', 'a', '[]'), ('k2', 't2', 'mk_', 'h2', 'b', '[]')",
        "INSERT INTO console_sessions (id_hash, user_id, created_at, idle_expires_at, expires_at) VALUES ('s1', 'usr_one', 'x', 'y', 'z')",
      ],
      "write",
    );
    expect((await migrate(db, managementMigrations.slice(0, 7))).applied).toEqual([7]);
    const read = async (sql: string) => (await db.execute(sql, "read")).rows.map((row) => ({ ...row }));
    expect(await read("SELECT tenant_id, user_id, role FROM memberships")).toEqual([
      { tenant_id: "t1", user_id: "usr_one", role: "owner" },
    ]);
    expect(await read("SELECT id, user_id FROM api_keys ORDER BY id")).toEqual([
      { id: "k1", user_id: "usr_one" },
      { id: "k2", user_id: null },
    ]);
    expect(await read("SELECT tenant_id FROM console_sessions")).toEqual([{ tenant_id: "t1" }]);
    await expect(
      db.execute("INSERT INTO memberships (tenant_id, user_id, role) VALUES ('t1', 'usr_two', 'owner')", "write"),
    ).rejects.toThrow(/UNIQUE/);
  });
});
