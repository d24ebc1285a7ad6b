import { z } from "zod";
import type { Invitation } from "../../../shared/teams/invitations";
import { ASSIGNABLE_ROLES } from "../../../shared/teams/roles";

/** An invitation as the team sees it: never its link, which only the invitee's mailbox gets. */
export function invitationView(invitation: Invitation, sent?: boolean) {
  return {
    id: invitation.id,
    object: "invitation" as const,
    email: invitation.email,
    role: invitation.role,
    invited_by: invitation.invitedBy,
    created_at: invitation.createdAt,
    sent_at: invitation.sentAt,
    expires_at: invitation.expiresAt,
    expired: Date.parse(invitation.expiresAt) <= Date.now(),
    ...(sent === undefined ? {} : { email_sent: sent }),
  };
}

export const inviteBody = z
  .object({ email: z.email().max(254), role: z.enum(ASSIGNABLE_ROLES).default("member") })
  .strict();
