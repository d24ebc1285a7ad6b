import { Hono } from "hono";
import { getAccount } from "../../../shared/accounts/accounts";
import { AppError } from "../../../shared/errors";
import { listInvitations, resendInvitation, revokeInvitation } from "../../../shared/teams/invitations";
import { acceptInvitation } from "../../../shared/teams/joining";
import { admitted } from "../../admission";
import { authenticate } from "../../auth/authenticate";
import { requireScope } from "../../auth/require-scope";
import { teamActor } from "../../auth/team-actor";
import type { AppEnv } from "../../types";
import { parseJsonBody } from "../validation";
import { invitationView, inviteBody } from "./invitation-views";
import { inviteToTeam, roleChanged, sendInvitation } from "./team-changes";

/**
 * `/api/invitations`: the team's pending invitations (`members:manage`),
 * and accepting one with the invitee's own credential.
 */
export const tenantInvitations = new Hono<AppEnv>();

const manage = [authenticate(), admitted(), requireScope("members:manage")] as const;

tenantInvitations.get("/", ...manage, async (c) => {
  const invitations = await listInvitations(c.get("services").mgmtDb, c.get("auth").tenantId);
  return c.json({ object: "list", data: invitations.map((invitation) => invitationView(invitation)) });
});

tenantInvitations.post("/", ...manage, async (c) => {
  const body = await parseJsonBody(c, inviteBody);
  const created = await inviteToTeam(c, c.get("auth").tenantId, teamActor(c), body);
  return c.json(invitationView(created.invitation, created.sent), 201);
});

tenantInvitations.delete("/:id", ...manage, async (c) => {
  const invitation = await revokeInvitation(
    c.get("services").mgmtDb,
    c.get("auth").tenantId,
    teamActor(c),
    c.req.param("id"),
  );
  return c.json({ ...invitationView(invitation), revoked: true });
});

tenantInvitations.post("/:id/resend", ...manage, async (c) => {
  const resent = await resendInvitation(
    c.get("services").mgmtDb,
    c.get("auth").tenantId,
    teamActor(c),
    c.req.param("id"),
  );
  return c.json(invitationView(resent.invitation, await sendInvitation(c, resent)));
});

/**
 * Accept with a credential of the invited account itself (any of its keys
 * or OAuth tokens, whichever team they belong to): the invitation's address
 * must be the account's. The console's link page does the same for a
 * signed-in person.
 */
tenantInvitations.post("/:token/accept", authenticate(), admitted(), async (c) => {
  const { userId } = c.get("auth");
  const account = userId ? await getAccount(c.get("services").mgmtDb, userId) : null;
  if (!account) {
    throw new AppError(
      "forbidden",
      "this credential belongs to no person; accept with a key or sign-in of the invited account",
      {
        code: "invitation_needs_account",
      },
    );
  }
  const joined = await acceptInvitation(c.get("services").mgmtDb, c.req.param("token"), account);
  // A transfer changed two roles: this isolate forgets both at once (others within 60 s).
  roleChanged(joined.tenantId, account.id);
  if (joined.previousOwner) roleChanged(joined.tenantId, joined.previousOwner);
  return c.json({ object: "membership", tenant_id: joined.tenantId, org_name: joined.orgName, role: joined.role });
});
