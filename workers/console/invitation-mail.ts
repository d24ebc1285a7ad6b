import type { Config } from "../../shared/config";
import type { Database } from "../../shared/db/client";
import { type EmailSender, sendEmail } from "../../shared/email/mailer";
import type { Logger } from "../../shared/logging";
import { displayNameOf } from "../../shared/teams/memberships";
import { teamInvitation } from "./emails";

/** Where an invitation link opens: the page that offers to accept or to sign up with the address filled in. */
function invitationLink(config: Config, token: string): string {
  return `${config.publicUrl}/invite?token=${token}`;
}

/**
 * Mail an invitation's link (new or resent). The token goes only into the
 * message, never into a log or a response. A failed send is logged and
 * reported as false; the invitation stays pending and can be resent.
 */
export async function mailInvitation(
  deps: { mgmtDb: Database; config: Config; logger: Logger; email: EmailSender },
  input: { tenantId: string; invitedBy: string; email: string; role: string; token: string },
): Promise<boolean> {
  const result = await deps.mgmtDb.execute(
    {
      sql: `SELECT t.org_name, u.email, u.display_name FROM tenants t LEFT JOIN users u ON u.id = ?
            WHERE t.id = ?`,
      args: [input.invitedBy, input.tenantId],
    },
    "read",
  );
  const row = result.rows[0];
  const orgName = String(row?.org_name ?? "a team");
  const inviterName = row?.email == null ? "A team admin" : displayNameOf(row);
  const message = teamInvitation(
    input.email,
    { orgName, inviterName, role: input.role, ownership: input.role === "owner" },
    invitationLink(deps.config, input.token),
  );
  return sendEmail(deps.email, deps.config, deps.logger, "invitation", message);
}
