import type { Config } from "../config";
import type { Logger } from "../logging";

/**
 * Transactional email through Cloudflare Email Service's `send_email`
 * binding. Locally (wrangler dev, the vitest plugin) the binding is
 * simulated: nothing is sent, and the message is written to files
 * (`npm run dev` collects each into one `.eml` under `.muninn/outbox/`).
 *
 * Every message has a plain-text part (the HTML is a courtesy), no tracking
 * pixels or redirecting links, and links built from `PUBLIC_URL`. Bodies
 * carry single-use links, so they are never logged: the log says what kind
 * of message went to which account, nothing more.
 */
export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** The part of the binding this module uses. */
export interface EmailSender {
  send(message: {
    from: { email: string; name: string };
    to: string;
    subject: string;
    text: string;
    html: string;
  }): Promise<{ messageId: string }>;
}

/**
 * Send one message. A failure is logged and reported as false, never thrown
 * to the person who asked: the pages that send mail answer the same either
 * way (no enumeration), and the person can ask again.
 */
export async function sendEmail(
  binding: EmailSender,
  config: Pick<Config, "email">,
  logger: Logger,
  kind: string,
  message: EmailMessage,
): Promise<boolean> {
  try {
    const { messageId } = await binding.send({
      from: { email: config.email.from, name: config.email.fromName },
      to: message.to,
      subject: message.subject,
      text: message.text,
      html: message.html,
    });
    logger.info("email sent", { kind, messageId });
    return true;
  } catch (error) {
    logger.error("email not sent", { kind, reason: error instanceof Error ? error.message : String(error) });
    return false;
  }
}
