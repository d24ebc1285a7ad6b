import { issueEmailToken } from "../../shared/accounts/email-tokens";
import type { Config } from "../../shared/config";
import type { Database } from "../../shared/db/client";
import { type EmailSender, sendEmail } from "../../shared/email/mailer";
import type { Logger } from "../../shared/logging";
import { verifyEmail } from "./emails";

/**
 * Send a new verification link to an account's address (signup on the web
 * or through `POST /api/signup`, and the banner's "send again"). Any
 * earlier link stops working. `returnTo` is where the link continues after
 * signing in (an OAuth authorization in progress).
 */
export async function mailVerificationLink(
  deps: { mgmtDb: Database; config: Config; logger: Logger; email: EmailSender },
  account: { userId: string; email: string },
  returnTo: string | null = null,
): Promise<boolean> {
  const token = await issueEmailToken(deps.mgmtDb, {
    purpose: "verify",
    userId: account.userId,
    email: account.email,
    returnTo,
  });
  const link = `${deps.config.publicUrl}/verify?token=${token}`;
  return sendEmail(deps.email, deps.config, deps.logger, "verify", verifyEmail(account.email, link));
}
