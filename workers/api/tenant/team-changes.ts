import type { Context } from "hono";
import { getAccount } from "../../../shared/accounts/accounts";
import { AppError } from "../../../shared/errors";
import { revokeTeamGrants } from "../../../shared/oauth/grants";
import { createInvitation, type NewInvitation } from "../../../shared/teams/invitations";
import { type Member, removeMember, type TeamActor } from "../../../shared/teams/memberships";
import type { Role } from "../../../shared/teams/roles";
import { forgetApiKey, forgetMember } from "../../auth/authenticate";
import { authorizationServer } from "../../auth/oauth-server";
import { mailInvitation } from "../../console/invitation-mail";
import { forgetAccountSessions } from "../../console/session-cache";
import type { AppEnv } from "../../types";

/**
 * Team changes with effects outside the management database — mail, the
 * OAuth store, this isolate's credential cache — shared by the API routes
 * and the console's team page, so both doors do exactly the same.
 */

type AnyContext = Context<AppEnv>;

/**
 * Remove a member (or let one leave): the membership, keys and sessions go
 * in one transaction; then their OAuth grants bound to this team are
 * revoked and this isolate forgets every credential of theirs, so the next
 * request here is a 401. Other isolates follow within the cache's 60 s, and
 * an OAuth token at once (its grant is gone, and its membership is checked).
 */
export async function removeFromTeam(c: AnyContext, tenantId: string, by: TeamActor, userId: string): Promise<Member> {
  const { mgmtDb, config } = c.get("services");
  const logger = c.get("logger");
  const removal = await removeMember(mgmtDb, tenantId, by, userId);
  forgetMember(tenantId, userId);
  // Their console sessions in this team were deleted with the membership; the
  // cached ones here carry the old team and role, so they go too.
  forgetAccountSessions(userId);
  for (const keyId of removal.keyIds) forgetApiKey(keyId);
  const account = await getAccount(mgmtDb, userId);
  if (account) {
    try {
      await revokeTeamGrants(authorizationServer(config).getOAuthApi(c.env), account, tenantId);
    } catch (error) {
      // The membership is gone, so these tokens are refused anyway; the grants are swept later.
      logger.error("removed member's OAuth grants not revoked", { tenant: tenantId, reason: String(error) });
    }
  }
  return removal.member;
}

/** A role changed: this isolate forgets the member's verified credentials, so the new bound holds here at once. */
export function roleChanged(tenantId: string, userId: string): void {
  forgetMember(tenantId, userId);
  // A cached console session carries the role it was read with.
  forgetAccountSessions(userId);
}

/** Unverified accounts cannot invite (docs/auth.md): an invitation is mail from us to an address they chose. */
async function assertMayInvite(c: AnyContext, by: TeamActor): Promise<void> {
  if (!by.userId) return;
  const account = await getAccount(c.get("services").mgmtDb, by.userId);
  if (account && account.emailVerifiedAt === null) {
    throw new AppError(
      "forbidden",
      "Confirm your account's email address before you invite members: open the link we sent to it, or send a new one from the console.",
      { code: "email_unverified" },
    );
  }
}

/** Invite and mail the link; the answer says whether the message left (a failed send can be resent). */
export async function inviteToTeam(
  c: AnyContext,
  tenantId: string,
  by: TeamActor,
  input: { email: string; role: Role },
): Promise<NewInvitation & { sent: boolean }> {
  await assertMayInvite(c, by);
  const { mgmtDb, config } = c.get("services");
  const created = await createInvitation(mgmtDb, config.planLimits, tenantId, by, input);
  const sent = await sendInvitation(c, created);
  return { ...created, sent };
}

export function sendInvitation(c: AnyContext, created: NewInvitation): Promise<boolean> {
  const { mgmtDb, config } = c.get("services");
  const { invitation, token } = created;
  return mailInvitation(
    { mgmtDb, config, logger: c.get("logger"), email: c.env.EMAIL },
    {
      tenantId: invitation.tenantId,
      invitedBy: invitation.invitedBy,
      email: invitation.email,
      role: invitation.role,
      token,
    },
  );
}
