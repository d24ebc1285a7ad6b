import { describe, expect, it } from "vitest";
import { emailPerTest, newEmail } from "./console-support";
import { ADMIN, openMgmtDb, workerFetch } from "./support";
import { api, invite, member, person, tokenIn } from "./teams-support";

const mail = emailPerTest();

describe("members and invitations API", () => {
  it("a signed-up owner is the team's owner, and their first key belongs to them", async () => {
    const owner = await person("own");
    const listed = await api(owner.key, "/members");
    expect(listed.status).toBe(200);
    expect(await listed.json()).toEqual({
      object: "list",
      data: [
        {
          id: owner.userId,
          object: "member",
          email: owner.email,
          display_name: owner.email.split("@")[0],
          role: "owner",
          joined_at: expect.any(String),
        },
      ],
    });
    const keys = (await (await api(owner.key, "/keys")).json()) as { data: { member_id: string }[] };
    expect(keys.data.map((key) => key.member_id)).toEqual([owner.userId]);
  });

  it("invites by email: the message names team and inviter, the link joins once, and the audit names who did it", async () => {
    const owner = await person("inviter");
    const guest = await person("guest");
    const answer = await api(owner.key, "/invitations", {
      method: "POST",
      body: { email: guest.email.toUpperCase(), role: "viewer" },
    });
    expect(answer.status).toBe(201);
    const invitation = (await answer.json()) as Record<string, unknown>;
    expect(invitation).toMatchObject({
      object: "invitation",
      email: guest.email,
      role: "viewer",
      email_sent: true,
      expired: false,
    });
    expect(JSON.stringify(invitation)).not.toMatch(/token/);
    const days = (Date.parse(String(invitation.expires_at)) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThanOrEqual(7);

    const message = await mail.next(guest.email);
    expect(message.subject).toBe(`${owner.email.split("@")[0]} invited you to inviter team on Muninn`);
    expect(message.text).toContain("inviter team");
    expect(message.text).toContain("expires in 7 days");
    const token = tokenIn(message);
    const stored = await openMgmtDb().execute(
      { sql: "SELECT token_hash FROM invitations WHERE id = ?", args: [String(invitation.id)] },
      "read",
    );
    expect(String(stored.rows[0]?.token_hash)).toMatch(/^[0-9a-f]{64}$/);
    expect(String(stored.rows[0]?.token_hash)).not.toContain(token);

    expect((await api(owner.key, "/invitations")).status).toBe(200);
    const accepted = await api(guest.key, `/invitations/${token}/accept`, { method: "POST" });
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toEqual({
      object: "membership",
      tenant_id: owner.tenantId,
      org_name: "inviter team",
      role: "viewer",
    });
    const again = await api(guest.key, `/invitations/${token}/accept`, { method: "POST" });
    expect(again.status).toBe(410);
    expect(await again.json()).toMatchObject({ error: { code: "invitation_used" } });

    const members = (await (await api(owner.key, "/members")).json()) as { data: { id: string; role: string }[] };
    expect(members.data.map((m) => [m.id, m.role])).toEqual([
      [owner.userId, "owner"],
      [guest.userId, "viewer"],
    ]);
    expect(((await (await api(owner.key, "/invitations")).json()) as { data: unknown[] }).data).toEqual([]);
    const audit = await openMgmtDb().execute(
      {
        sql: "SELECT actor, action FROM audit_log WHERE tenant_id = ? AND (action LIKE 'invitation.%' OR action LIKE 'member.%') ORDER BY id",
        args: [owner.tenantId],
      },
      "read",
    );
    expect(audit.rows.map((row) => [row.actor, row.action])).toEqual([
      [`user:${owner.userId}`, "invitation.create"],
      [`user:${guest.userId}`, "member.join"],
    ]);
  });

  it("refuses a link used by another signed-in address, a withdrawn, an expired and a superseded link, each saying why", async () => {
    const owner = await person("links");
    const invitee = newEmail("invitee");
    const stranger = await person("stranger");
    const first = await invite(mail, owner.key, invitee, "member");
    const mismatch = await api(stranger.key, `/invitations/${first.token}/accept`, { method: "POST" });
    expect(mismatch.status).toBe(403);
    expect(await mismatch.json()).toMatchObject({
      error: { code: "invitation_email_mismatch", message: expect.stringContaining(`sent to ${invitee}`) },
    });

    const resent = await api(owner.key, `/invitations/${first.id}/resend`, { method: "POST" });
    expect(resent.status).toBe(200);
    const second = tokenIn(await mail.next(invitee));
    expect(second).not.toBe(first.token);
    const superseded = await api(stranger.key, `/invitations/${first.token}/accept`, { method: "POST" });
    expect(superseded.status).toBe(404);
    expect(await superseded.json()).toMatchObject({ error: { code: "invitation_not_found" } });

    expect((await api(owner.key, `/invitations/${first.id}`, { method: "DELETE" })).status).toBe(200);
    const withdrawn = await api(stranger.key, `/invitations/${second}/accept`, { method: "POST" });
    expect(withdrawn.status).toBe(410);
    expect(await withdrawn.json()).toMatchObject({ error: { code: "invitation_revoked" } });
    expect((await api(owner.key, `/invitations/${first.id}`, { method: "DELETE" })).status).toBe(404);

    const late = await invite(mail, owner.key, stranger.email, "member");
    await openMgmtDb().execute(
      { sql: "UPDATE invitations SET expires_at = '2026-01-01T00:00:00.000Z' WHERE id = ?", args: [late.id] },
      "write",
    );
    const expired = await api(stranger.key, `/invitations/${late.token}/accept`, { method: "POST" });
    expect(expired.status).toBe(410);
    expect(await expired.json()).toMatchObject({ error: { code: "invitation_expired" } });
    // An expired invitation no longer holds the address: a new one can be sent.
    expect((await api(owner.key, "/invitations", { method: "POST", body: { email: stranger.email } })).status).toBe(
      201,
    );
  });

  it("answers clear errors: bad input, a member already in, a pending invitation, an unverified inviter", async () => {
    const owner = await person("errors");
    for (const body of [
      { email: "not an email" },
      { email: "a@example.test", role: "owner" },
      { email: "a@example.test", extra: 1 },
    ]) {
      const answer = await api(owner.key, "/invitations", { method: "POST", body });
      expect(answer.status).toBe(400);
    }
    expect(
      await (await api(owner.key, "/invitations", { method: "POST", body: { email: owner.email } })).json(),
    ).toMatchObject({
      error: { code: "already_member" },
    });
    const email = newEmail("twice");
    await invite(mail, owner.key, email, "member");
    const twice = await api(owner.key, "/members", { method: "POST", body: { email, role: "viewer" } });
    expect(twice.status).toBe(409);
    expect(await twice.json()).toMatchObject({ error: { code: "invitation_pending" } });
    expect((await api(owner.key, "/members/usr_nobody", { method: "DELETE" })).status).toBe(404);
    expect((await api(owner.key, "/members/usr_nobody", { method: "PATCH", body: { role: "viewer" } })).status).toBe(
      404,
    );

    await openMgmtDb().execute(
      { sql: "UPDATE users SET email_verified_at = NULL WHERE id = ?", args: [owner.userId] },
      "write",
    );
    const unverified = await api(owner.key, "/invitations", { method: "POST", body: { email: newEmail("x") } });
    expect(unverified.status).toBe(403);
    expect(await unverified.json()).toMatchObject({ error: { code: "email_unverified" } });
  });

  it("seats: free 1, pro 3, team 25; beyond them 402 seat_limit naming the plan with more; the operator overrides", async () => {
    const free = await person("free", "free");
    const refused = await api(free.key, "/invitations", { method: "POST", body: { email: newEmail("f") } });
    expect(refused.status).toBe(402);
    expect(await refused.json()).toMatchObject({
      error: { type: "payment_required", code: "seat_limit", message: expect.stringContaining("the pro plan has 3") },
    });

    const pro = await person("pro", "pro");
    await invite(mail, pro.key, newEmail("p1"), "member");
    await invite(mail, pro.key, newEmail("p2"), "viewer");
    const third = await api(pro.key, "/invitations", { method: "POST", body: { email: newEmail("p3") } });
    expect(third.status).toBe(402);
    expect(await third.json()).toMatchObject({
      error: { code: "seat_limit", message: expect.stringContaining("the team plan has 25") },
    });

    const seats = await workerFetch(`/api/tenants/${pro.tenantId}/seats`, { headers: ADMIN });
    expect(await seats.json()).toEqual({
      tenant_id: pro.tenantId,
      plan: "pro",
      seats: 3,
      source: "plan",
      seat_override: null,
      members: 1,
      pending_invitations: 2,
    });
    const raised = await workerFetch(`/api/tenants/${pro.tenantId}/seats`, {
      method: "PUT",
      headers: ADMIN,
      body: JSON.stringify({ seat_override: 4 }),
    });
    expect(raised.status).toBe(200);
    expect(await raised.json()).toMatchObject({ seats: 4, source: "override", seat_override: 4 });
    expect((await api(pro.key, "/invitations", { method: "POST", body: { email: newEmail("p4") } })).status).toBe(201);
    const full = await api(pro.key, "/invitations", { method: "POST", body: { email: newEmail("p5") } });
    expect(await full.json()).toMatchObject({
      error: { code: "seat_limit", message: expect.stringContaining("the team plan has 25") },
    });
    const bad = await workerFetch(`/api/tenants/${pro.tenantId}/seats`, {
      method: "PUT",
      headers: ADMIN,
      body: JSON.stringify({ seat_override: 0 }),
    });
    expect(bad.status).toBe(400);
    expect((await workerFetch("/api/tenants/tnothing/seats", { headers: ADMIN })).status).toBe(404);
    expect(
      (await workerFetch(`/api/tenants/${pro.tenantId}/seats`, { headers: { authorization: `Bearer ${pro.key}` } }))
        .status,
    ).toBe(403);
    const audit = await openMgmtDb().execute(
      { sql: "SELECT metadata FROM audit_log WHERE tenant_id = ? AND action = 'tenant.seats'", args: [pro.tenantId] },
      "read",
    );
    expect(JSON.parse(String(audit.rows[0]?.metadata))).toMatchObject({
      before: { seatOverride: null },
      after: { seatOverride: 4 },
    });
  });

  it("limits invitations per team per hour, with Retry-After", async () => {
    const owner = await person("busy");
    for (let i = 0; i < 20; i += 1) {
      expect(
        (await api(owner.key, "/invitations", { method: "POST", body: { email: newEmail(`b${i}`) } })).status,
      ).toBe(201);
    }
    const limited = await api(owner.key, "/invitations", { method: "POST", body: { email: newEmail("b21") } });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(3000);
    expect(await limited.json()).toMatchObject({ error: { code: "invitation_rate_limited" } });
  });

  it("ownership passes only when the new owner accepts; the old owner stays as admin", async () => {
    const owner = await person("founder");
    const heir = await member(mail, owner, "heir", "admin");
    const byAdmin = await api(heir.teamKey, `/members/${heir.userId}`, { method: "PATCH", body: { role: "owner" } });
    expect(byAdmin.status).toBe(403);
    const offered = await api(owner.key, `/members/${heir.userId}`, { method: "PATCH", body: { role: "owner" } });
    expect(offered.status).toBe(202);
    expect(await offered.json()).toMatchObject({
      object: "ownership_transfer",
      member_id: heir.userId,
      status: "pending",
    });
    const roles = async () =>
      ((await (await api(owner.key, "/members")).json()) as { data: { id: string; role: string }[] }).data.map((m) => [
        m.id,
        m.role,
      ]);
    expect(await roles()).toEqual([
      [owner.userId, "owner"],
      [heir.userId, "admin"],
    ]);
    const message = await mail.next(heir.email);
    expect(message.subject).toContain("offers you ownership of founder team");
    const accepted = await api(heir.key, `/invitations/${tokenIn(message)}/accept`, { method: "POST" });
    expect(accepted.status).toBe(200);
    // On this isolate the old owner's key is an admin's at once: billing is no longer theirs.
    const billing = await api(owner.key, "/billing/portal", { method: "POST" });
    expect(billing.status).toBe(403);
    expect(await billing.json()).toMatchObject({ error: { code: "role_forbidden" } });
    expect(await roles()).toEqual([
      [heir.userId, "owner"],
      [owner.userId, "admin"],
    ]);
    expect((await api(owner.key, `/members/${heir.userId}`, { method: "DELETE" })).status).toBe(409);
  });
});
