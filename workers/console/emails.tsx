/** @jsxImportSource hono/jsx */
import type { EmailMessage } from "../../shared/email/mailer";

/**
 * The console's messages. Plain text first (every client shows it), with a
 * minimal HTML twin: no images, no remote anything, no tracking, and the
 * link spelled out so a person can see where it goes.
 */
function message(to: string, subject: string, paragraphs: string[], link?: { href: string; label: string }) {
  const text = [...paragraphs, ...(link ? [`${link.label}:\n${link.href}`] : []), "— Muninn"].join("\n\n");
  const html = (
    <html lang="en">
      <body style="font-family:system-ui,sans-serif;line-height:1.5;color:#18181b">
        {paragraphs.map((paragraph) => (
          <p>{paragraph}</p>
        ))}
        {link ? (
          <p>
            <a href={link.href}>{link.label}</a>
            <br />
            {link.href}
          </p>
        ) : null}
        <p>— Muninn</p>
      </body>
    </html>
  );
  return { to, subject, text, html: `<!doctype html>${html.toString()}` } satisfies EmailMessage;
}

export function verifyEmail(to: string, link: string): EmailMessage {
  return message(
    to,
    "Confirm your email for Muninn",
    [
      "Welcome to Muninn. Open the link below to confirm this address and sign in.",
      "The link works once and expires in 24 hours. If you did not sign up, ignore this message; nothing happens.",
    ],
    { href: link, label: "Confirm your email" },
  );
}

export function alreadyHaveAccount(to: string, publicUrl: string): EmailMessage {
  return message(to, "You already have a Muninn account", [
    "Someone (probably you) tried to sign up for Muninn with this address, which already has an account. No new account was made.",
    `Sign in at ${publicUrl}/signin. If you have forgotten your password, reset it at ${publicUrl}/forgot.`,
    "If it was not you, you can ignore this message.",
  ]);
}

export function resetPassword(to: string, link: string): EmailMessage {
  return message(
    to,
    "Reset your Muninn password",
    [
      "Someone asked to reset the password of your Muninn account. Open the link below to choose a new one.",
      "The link works once and expires in 30 minutes. Using it signs you out everywhere. If you did not ask, ignore this message; your password stays as it is.",
    ],
    { href: link, label: "Choose a new password" },
  );
}

export function confirmNewEmail(to: string, link: string): EmailMessage {
  return message(
    to,
    "Confirm your new email for Muninn",
    [
      "Open the link below to make this the email address of your Muninn account.",
      "The link works once and expires in 24 hours. Until you open it, your account keeps its current address.",
    ],
    { href: link, label: "Confirm this address" },
  );
}

/** `someone@example.com` → `s•••@example.com`: enough for the owner to recognise, little for anyone else reading the old inbox. */
function masked(address: string): string {
  const at = address.lastIndexOf("@");
  return at > 0 ? `${address[0]}•••${address.slice(at)}` : "•••";
}

/**
 * To the address an account had, once a new one is confirmed. No link at
 * all: if someone else made the change, anything actionable sent here
 * (a reset link, an "undo") would go to whoever reads this inbox, which is
 * the one party we can no longer vouch for either; the owner is told what
 * happened and where to turn.
 */
export function emailChanged(to: string, newAddress: string, at: string): EmailMessage {
  return message(to, "Your Muninn email address was changed", [
    `The email address of your Muninn account was changed from this address to ${masked(newAddress)} at ${at.replace("T", " ").slice(0, 16)} UTC. Messages about the account (sign-in help, password resets) now go there.`,
    "If you made this change, there is nothing to do.",
    "If you did not, someone who knows your password has changed it: contact Muninn support from this address and tell us the time above. This message contains no link and needs no action to keep your account as it is.",
  ]);
}

/** Provisioning failed after the page had answered: the person learns it and can simply try again. */
export function signupFailed(to: string, publicUrl: string): EmailMessage {
  return message(to, "Your Muninn signup did not complete", [
    "Something went wrong on our side while creating your Muninn account, and nothing was created.",
    `Please sign up again at ${publicUrl}/signup. If it happens again, wait a few minutes and retry.`,
  ]);
}

/** An invitation: names the team and who invited, says the role and that the link is single use for 7 days. */
export function teamInvitation(
  to: string,
  invitation: { orgName: string; inviterName: string; role: string; ownership: boolean },
  link: string,
): EmailMessage {
  const { orgName, inviterName } = invitation;
  return invitation.ownership
    ? message(
        to,
        `${inviterName} offers you ownership of ${orgName} on Muninn`,
        [
          `${inviterName} wants to make you the owner of the team ${orgName} on Muninn. As owner you manage billing and may delete the team; ${inviterName} stays as an admin.`,
          "Nothing changes until you accept. The link works once and expires in 7 days.",
        ],
        { href: link, label: "Review the offer" },
      )
    : message(
        to,
        `${inviterName} invited you to ${orgName} on Muninn`,
        [
          `${inviterName} invited you to join the team ${orgName} on Muninn as ${invitation.role === "admin" ? "an" : "a"} ${invitation.role}. The team shares one memory for its people and their AI agents.`,
          "The link works once and expires in 7 days. If you do not know this team, ignore this message; nothing happens.",
        ],
        { href: link, label: "Join the team" },
      );
}
