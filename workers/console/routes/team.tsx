/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { z } from "zod";
import { switchTeam } from "../../../shared/accounts/sessions";
import { AppError } from "../../../shared/errors";
import { listInvitations, resendInvitation, revokeInvitation } from "../../../shared/teams/invitations";
import { changeRole, getMember, listMembers, teamsOf } from "../../../shared/teams/memberships";
import { ASSIGNABLE_ROLES } from "../../../shared/teams/roles";
import { seatUsage } from "../../../shared/teams/seats";
import { getTenant } from "../../../shared/tenants/tenants";
import { inviteToTeam, removeFromTeam, roleChanged, sendInvitation } from "../../api/tenant/team-changes";
import { asApp, type ConsoleContext, type ConsoleEnv, signedIn } from "../context";
import { MessagePage } from "../pages/public";
import { RemoveMemberPage, TeamPage } from "../pages/team";
import { render } from "../render";
import { endSession, requireSignIn, startSession } from "../session";
import { forgetSession } from "../session-cache";
import { consoleTeamActor, refuseUnlessRole } from "../team-access";
import { postedForm } from "./app";
import { viewer } from "./viewer";

/**
 * `/app/team`: the team the console shows — its members and roles, and
 * for owners and admins invitations (send, resend, revoke), role changes
 * and removal — through the same domain functions as `/api/members` and
 * `/api/invitations`. The team switcher is here too: the session carries
 * the current team, and only a team the person belongs to can be chosen.
 */
export const teamPages = new Hono<ConsoleEnv>();
teamPages.use("/app/team", requireSignIn());
teamPages.use("/app/team/*", requireSignIn());

const NOTICES: Record<string, string> = {
  invited: "Invitation sent.",
  resent: "Invitation sent again; the earlier link no longer works.",
  revoked: "Invitation revoked.",
  role: "Role changed.",
  removed: "Member removed; their keys and apps in this team no longer work.",
  joined: "Welcome to the team.",
  switched: "Switched team.",
  left: "You left the team.",
};

async function teamPage(c: ConsoleContext, extra: { error?: string } = {}, status = 200): Promise<Response> {
  const { account, session } = signedIn(c);
  const { mgmtDb, config } = c.get("services");
  const tenantId = account.tenantId;
  const manages = session.role === "owner" || session.role === "admin";
  const [tenant, members, invitations, seats, teams] = await Promise.all([
    getTenant(mgmtDb, tenantId),
    listMembers(mgmtDb, tenantId),
    manages ? listInvitations(mgmtDb, tenantId) : Promise.resolve([]),
    seatUsage(mgmtDb, config.planLimits, tenantId),
    teamsOf(mgmtDb, account.id),
  ]);
  return render(
    c,
    <TeamPage
      viewer={viewer(c)}
      orgName={tenant?.orgName ?? ""}
      me={{ userId: account.id, role: session.role }}
      members={members}
      invitations={invitations}
      seats={seats}
      teams={teams}
      currentTeam={tenantId}
      notice={NOTICES[c.req.query("done") ?? ""]}
      error={extra.error}
    />,
    status,
  );
}

/** A refusal from a domain function, shown on the team page with the message the API would answer. */
async function refused(c: ConsoleContext, error: unknown): Promise<Response> {
  if (error instanceof AppError) return teamPage(c, { error: error.message }, error.status);
  throw error;
}

const managersOnly = (c: ConsoleContext) =>
  refuseUnlessRole(c, ["owner", "admin"], "manage members and invitations", {
    href: "/app/team",
    label: "Back to the team",
  });

teamPages.get("/app/team", (c) => teamPage(c));

const inviteForm = z.object({ email: z.email().max(254), role: z.enum(ASSIGNABLE_ROLES) });

teamPages.post("/app/team/invite", async (c) => {
  const form = await postedForm(c);
  if (form instanceof Response) return form;
  const denied = managersOnly(c);
  if (denied) return denied;
  const parsed = inviteForm.safeParse({ email: String(form.get("email") ?? "").trim(), role: form.get("role") });
  if (!parsed.success) return teamPage(c, { error: "Give a valid email address and a role." }, 400);
  try {
    await inviteToTeam(asApp(c), signedIn(c).account.tenantId, consoleTeamActor(c), parsed.data);
  } catch (error) {
    return refused(c, error);
  }
  return c.redirect("/app/team?done=invited", 303);
});

teamPages.post("/app/team/invitations/:id/resend", async (c) => {
  const form = await postedForm(c);
  if (form instanceof Response) return form;
  const denied = managersOnly(c);
  if (denied) return denied;
  try {
    const resent = await resendInvitation(
      c.get("services").mgmtDb,
      signedIn(c).account.tenantId,
      consoleTeamActor(c),
      c.req.param("id"),
    );
    await sendInvitation(asApp(c), resent);
  } catch (error) {
    return refused(c, error);
  }
  return c.redirect("/app/team?done=resent", 303);
});

teamPages.post("/app/team/invitations/:id/revoke", async (c) => {
  const form = await postedForm(c);
  if (form instanceof Response) return form;
  const denied = managersOnly(c);
  if (denied) return denied;
  try {
    await revokeInvitation(
      c.get("services").mgmtDb,
      signedIn(c).account.tenantId,
      consoleTeamActor(c),
      c.req.param("id"),
    );
  } catch (error) {
    return refused(c, error);
  }
  return c.redirect("/app/team?done=revoked", 303);
});

teamPages.post("/app/team/members/:id/role", async (c) => {
  const form = await postedForm(c);
  if (form instanceof Response) return form;
  const denied = managersOnly(c);
  if (denied) return denied;
  const role = z.enum(ASSIGNABLE_ROLES).safeParse(form.get("role"));
  if (!role.success) return teamPage(c, { error: "Choose admin, member or viewer." }, 400);
  const tenantId = signedIn(c).account.tenantId;
  try {
    await changeRole(c.get("services").mgmtDb, tenantId, consoleTeamActor(c), c.req.param("id"), role.data);
  } catch (error) {
    return refused(c, error);
  }
  roleChanged(tenantId, c.req.param("id"));
  return c.redirect("/app/team?done=role", 303);
});

teamPages.get("/app/team/members/:id/remove", async (c) => {
  const denied = managersOnly(c);
  if (denied) return denied;
  const member = await getMember(c.get("services").mgmtDb, signedIn(c).account.tenantId, c.req.param("id"));
  if (!member) {
    return render(
      c,
      <MessagePage
        title="Member not found"
        message="This person is not a member of the team."
        link={{ href: "/app/team", label: "Back to the team" }}
      />,
      404,
    );
  }
  return render(c, <RemoveMemberPage viewer={viewer(c)} member={member} />);
});

teamPages.post("/app/team/members/:id/remove", async (c) => {
  const form = await postedForm(c);
  if (form instanceof Response) return form;
  const denied = managersOnly(c);
  if (denied) return denied;
  try {
    await removeFromTeam(asApp(c), signedIn(c).account.tenantId, consoleTeamActor(c), c.req.param("id"));
  } catch (error) {
    return refused(c, error);
  }
  return c.redirect("/app/team?done=removed", 303);
});

teamPages.post("/app/team/switch", async (c) => {
  const form = await postedForm(c);
  if (form instanceof Response) return form;
  const { account, session } = signedIn(c);
  const team = String(form.get("team") ?? "");
  if (!(await switchTeam(c.get("services").mgmtDb, session.idHash, account.id, team))) {
    return teamPage(c, { error: "You are not a member of that team." }, 404);
  }
  // The cached session names the team it was read with.
  forgetSession(session.idHash);
  return c.redirect("/app/team?done=switched", 303);
});

/**
 * Leave the team (anyone but the owner, who transfers ownership first):
 * the same removal as an admin's, so this person's keys and apps in the team
 * stop. Their sessions showing the team end with it; one in another team
 * of theirs starts, or they are signed out when none is left.
 */
teamPages.post("/app/team/leave", async (c) => {
  const form = await postedForm(c);
  if (form instanceof Response) return form;
  const { account } = signedIn(c);
  try {
    await removeFromTeam(asApp(c), account.tenantId, consoleTeamActor(c), account.id);
  } catch (error) {
    return refused(c, error);
  }
  if ((await teamsOf(c.get("services").mgmtDb, account.id)).length === 0) {
    await endSession(c);
    return render(
      c,
      <MessagePage
        title="You left the team"
        message="You are no longer a member of any team."
        link={{ href: "/", label: "Muninn home" }}
      />,
    );
  }
  await startSession(c, account.id);
  return c.redirect("/app/team?done=left", 303);
});
