import { Hono } from "hono";
import { z } from "zod";
import { AppError } from "../../../shared/errors";
import { type Invitation, offerOwnership } from "../../../shared/teams/invitations";
import { actorRoleNow, changeRole, getMember, listMembers, type Member } from "../../../shared/teams/memberships";
import { ASSIGNABLE_ROLES } from "../../../shared/teams/roles";
import { admitted } from "../../admission";
import { authenticate } from "../../auth/authenticate";
import { requireScope } from "../../auth/require-scope";
import { teamActor } from "../../auth/team-actor";
import type { AppEnv } from "../../types";
import { parseJsonBody } from "../validation";
import { invitationView, inviteBody } from "./invitation-views";
import { inviteToTeam, removeFromTeam, roleChanged, sendInvitation } from "./team-changes";

/**
 * `/api/members`: the team's people, managed with `members:manage` (which
 * only owners' and admins' credentials can carry). `POST` invites, like
 * `POST /api/invitations`; `PATCH` changes a role — to `owner`, it offers
 * ownership, which the member accepts from their email; `DELETE` removes a
 * member, revoking their keys and OAuth grants in this team.
 * `DELETE /api/members/me` is the credential's own person leaving.
 */
export const tenantMembers = new Hono<AppEnv>();

tenantMembers.use(authenticate(), admitted());

/**
 * Leave the team: the console's removal (`removeFromTeam`), so this person's
 * keys and OAuth grants in the team are revoked at once. It needs
 * `keys:manage`, not just any credential of theirs: a read-only key handed
 * to an agent must not be able to take its person out of the team (and
 * revoke every key they have). A viewer, whose credentials only read, leaves
 * from the console. Registered before `/:id` and before the `members:manage`
 * guard, which a member's credentials never carry.
 */
tenantMembers.delete("/me", requireScope("keys:manage"), async (c) => {
  const { tenantId, userId } = c.get("auth");
  if (!userId) {
    throw new AppError("conflict", "this key belongs to no member of the team, so there is no one to leave it", {
      code: "not_a_member",
    });
  }
  const member = await removeFromTeam(c, tenantId, teamActor(c), userId);
  return c.json({ ...memberView(member), left: true });
});

tenantMembers.use(requireScope("members:manage"));

function memberView(member: Member) {
  return {
    id: member.userId,
    object: "member" as const,
    email: member.email,
    display_name: member.displayName,
    role: member.role,
    joined_at: member.joinedAt,
  };
}

const roleBody = z.object({ role: z.enum([...ASSIGNABLE_ROLES, "owner"]) }).strict();

tenantMembers.get("/", async (c) => {
  const members = await listMembers(c.get("services").mgmtDb, c.get("auth").tenantId);
  return c.json({ object: "list", data: members.map(memberView) });
});

tenantMembers.post("/", async (c) => {
  const body = await parseJsonBody(c, inviteBody);
  const created = await inviteToTeam(c, c.get("auth").tenantId, teamActor(c), body);
  return c.json(invitationView(created.invitation, created.sent), 201);
});

function ownershipView(invitation: Invitation, memberId: string, sent: boolean) {
  return {
    object: "ownership_transfer" as const,
    id: invitation.id,
    member_id: memberId,
    status: "pending" as const,
    expires_at: invitation.expiresAt,
    email_sent: sent,
  };
}

tenantMembers.patch("/:id", async (c) => {
  const body = await parseJsonBody(c, roleBody);
  const { mgmtDb } = c.get("services");
  const { tenantId } = c.get("auth");
  const by = teamActor(c);
  const userId = c.req.param("id");
  if (body.role === "owner") {
    // Fresh, not the cached role: an owner who already handed the team over must not offer it again.
    const actorRole = await actorRoleNow(mgmtDb, tenantId, by);
    if (actorRole !== null && actorRole !== "owner") {
      throw new AppError("forbidden", "only the team's owner may transfer ownership", { code: "role_forbidden" });
    }
    const member = await getMember(mgmtDb, tenantId, userId);
    if (!member)
      throw new AppError("not_found", `no member ${JSON.stringify(userId)} in this team`, { code: "member_not_found" });
    if (member.role === "owner") {
      throw new AppError("conflict", "this member already owns the team", { code: "already_owner" });
    }
    const offered = await offerOwnership(mgmtDb, tenantId, by, member);
    return c.json(ownershipView(offered.invitation, userId, await sendInvitation(c, offered)), 202);
  }
  const member = await changeRole(mgmtDb, tenantId, by, userId, body.role);
  roleChanged(tenantId, userId);
  return c.json(memberView(member));
});

tenantMembers.delete("/:id", async (c) => {
  const member = await removeFromTeam(c, c.get("auth").tenantId, teamActor(c), c.req.param("id"));
  return c.json({ ...memberView(member), removed: true });
});
