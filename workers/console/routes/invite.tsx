/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { DISPLAY_NAME_MAX, normalizeEmail } from "../../../shared/accounts/accounts";
import { switchTeam } from "../../../shared/accounts/sessions";
import { AppError } from "../../../shared/errors";
import { assertUsable, findInvitationByToken, type InvitationByLink } from "../../../shared/teams/invitations";
import { acceptInvitation, signUpFromInvitation } from "../../../shared/teams/joining";
import { roleChanged } from "../../api/tenant/team-changes";
import { spendIpBudget } from "../../middleware/ip-rate-limit";
import { asApp, type ConsoleContext, type ConsoleEnv } from "../context";
import { InvitePage } from "../pages/invite";
import { MessagePage } from "../pages/public";
import { render } from "../render";
import { csrfValid, startSession } from "../session";
import { forgetSession } from "../session-cache";

/**
 * `/invite?token=`: an invitation link. Opening it only shows the page (mail
 * scanners fetch links on their own); joining is a POST. Someone signed in
 * as the invited address joins with one button and the console switches to
 * the team; someone signed in as another address is refused with what to
 * do; someone without an account signs up here, with the address taken from
 * the invitation, and lands in the inviting team — no team of their own.
 */
export const invitePages = new Hono<ConsoleEnv>();

async function problemPage(c: ConsoleContext, error: unknown): Promise<Response> {
  if (!(error instanceof AppError)) throw error;
  return render(
    c,
    <MessagePage title="Invitation" message={error.message} alert link={{ href: "/", label: "Go to Muninn" }} />,
    error.status,
  );
}

async function usable(c: ConsoleContext, token: string): Promise<InvitationByLink | Response> {
  const invitation = await findInvitationByToken(c.get("services").mgmtDb, token);
  try {
    assertUsable(invitation);
    return invitation;
  } catch (error) {
    return problemPage(c, error);
  }
}

function mismatch(c: ConsoleContext, invitation: InvitationByLink, email: string): Promise<Response> {
  return problemPage(
    c,
    new AppError(
      "forbidden",
      `This invitation was sent to ${invitation.email}, and you are signed in as ${email}. Sign out, then open the link again to sign in or sign up as ${invitation.email}.`,
      { code: "invitation_email_mismatch" },
    ),
  );
}

invitePages.get("/invite", async (c) => {
  const token = c.req.query("token") ?? "";
  const invitation = await usable(c, token);
  if (invitation instanceof Response) return invitation;
  const signedIn = c.get("signedIn");
  if (signedIn && normalizeEmail(signedIn.account.email) !== invitation.email) {
    return mismatch(c, invitation, signedIn.account.email);
  }
  return render(
    c,
    <InvitePage
      csrf={c.get("csrf")}
      invitation={invitation}
      token={token}
      signedInAs={signedIn?.account.email ?? null}
    />,
  );
});

invitePages.post("/invite/accept", async (c) => {
  const form = await c.req.formData();
  const token = String(form.get("token") ?? "");
  if (!(await csrfValid(c, form)))
    return problemPage(c, new AppError("forbidden", "This form expired. Open the link again."));
  const signedIn = c.get("signedIn");
  if (!signedIn) return c.redirect(`/signin?next=${encodeURIComponent(`/invite?token=${token}`)}`, 303);
  const { mgmtDb } = c.get("services");
  try {
    const joined = await acceptInvitation(mgmtDb, token, signedIn.account);
    roleChanged(joined.tenantId, signedIn.account.id);
    if (joined.previousOwner) roleChanged(joined.tenantId, joined.previousOwner);
    await switchTeam(mgmtDb, signedIn.session.idHash, signedIn.account.id, joined.tenantId);
    forgetSession(signedIn.session.idHash);
  } catch (error) {
    return problemPage(c, error);
  }
  return c.redirect("/app/team?done=joined", 303);
});

invitePages.post("/invite/signup", async (c) => {
  const form = await c.req.formData();
  const token = String(form.get("token") ?? "");
  const name = String(form.get("name") ?? "")
    .trim()
    .slice(0, DISPLAY_NAME_MAX + 1);
  const invitation = await usable(c, token);
  if (invitation instanceof Response) return invitation;
  const page = (error: string, status: number) =>
    render(
      c,
      <InvitePage csrf={c.get("csrf")} invitation={invitation} token={token} error={error} name={name} />,
      status,
    );
  if (!(await csrfValid(c, form))) return page("This form expired. Please try again.", 403);
  const limited = await spendIpBudget(asApp(c), "signup", c.get("services").config.ipRateLimitPerMinute);
  if (limited && !limited.allowed) return page("Too many signups from this address. Wait a minute and try again.", 429);
  try {
    const joined = await signUpFromInvitation(c.get("services").mgmtDb, token, {
      password: String(form.get("password") ?? "").slice(0, 1024),
      displayName: name || null,
    });
    // The new account's home is the inviting team, so the session opens on it.
    await startSession(c, joined.userId);
  } catch (error) {
    if (error instanceof AppError && error.status < 500) return page(error.message, error.status);
    throw error;
  }
  return c.redirect("/app/team?done=joined", 303);
});
