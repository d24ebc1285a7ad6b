/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { writeAudit } from "../../../shared/audit";
import { managesAllCredentials } from "../../../shared/teams/roles";
import { teamGrantsInScope } from "../../../shared/teams/team-grants";
import { grantLastUsed } from "../../auth/grant-last-used";
import { authorizationServer } from "../../auth/oauth-server";
import { clientIp } from "../../middleware/ip-rate-limit";
import { asApp, type ConsoleContext, type ConsoleEnv, signedIn } from "../context";
import { type AppRow, AppsPage, RevokeAppPage } from "../pages/apps";
import { MessagePage } from "../pages/public";
import { render } from "../render";
import { csrfValid, requireSignIn } from "../session";
import { viewer } from "./viewer";

/** `/app/apps`: the OAuth grants the signed-in person manages in this team, through the same function as `/api/oauth/grants`. */
export const appsPages = new Hono<ConsoleEnv>();
appsPages.use("/app/apps", requireSignIn());
appsPages.use("/app/apps/*", requireSignIn());

const helpers = (c: ConsoleContext) => authorizationServer(c.get("services").config).getOAuthApi(c.env);

/** Whether the signed-in person sees (and may revoke) every member's apps in this team, as the API allows. */
const seesEveryone = (c: ConsoleContext) => managesAllCredentials(signedIn(c).session.role);

async function apps(c: ConsoleContext): Promise<(AppRow & { userId: string })[]> {
  const oauth = helpers(c);
  const { account, session } = signedIn(c);
  // Owners and admins: every member's grants bound to the team the console
  // shows; anyone else: their own (the same function as /api/oauth/grants).
  const grants = await teamGrantsInScope(c.get("services").mgmtDb, oauth, account.tenantId, {
    userId: account.id,
    role: session.role,
  });
  return Promise.all(
    grants.map(async ({ userId, email, grant }) => {
      const [client, lastUsedAt] = await Promise.all([
        oauth.lookupClient(grant.clientId),
        grantLastUsed(c.env.OAUTH_KV, grant.grantId),
      ]);
      const redirect = client?.redirectUris[0];
      let redirectHost: string | null = null;
      try {
        redirectHost = redirect ? new URL(redirect).host : null;
      } catch {
        redirectHost = null;
      }
      return {
        userId,
        grantId: grant.grantId,
        clientName: grant.clientName ?? client?.clientName ?? grant.clientId,
        grantedBy: userId === account.id ? "you" : email,
        redirectHost,
        scopes: grant.scopes,
        createdAt: grant.createdAt,
        lastUsedAt,
        expiresAt: grant.expiresAt,
      };
    }),
  );
}

appsPages.get("/app/apps", async (c) =>
  render(c, <AppsPage viewer={viewer(c)} apps={await apps(c)} everyone={seesEveryone(c)} />),
);

appsPages.get("/app/apps/:id/revoke", async (c) => {
  const app = (await apps(c)).find((row) => row.grantId === c.req.param("id"));
  if (!app) {
    return render(
      c,
      <MessagePage
        title="App not found"
        message="This app is not connected."
        link={{ href: "/app/apps", label: "Back to apps" }}
      />,
      404,
    );
  }
  return render(c, <RevokeAppPage viewer={viewer(c)} app={app} />);
});

appsPages.post("/app/apps/:id/revoke", async (c) => {
  const form = await c.req.formData();
  if (!(await csrfValid(c, form))) {
    return render(
      c,
      <MessagePage title="Form expired" message="This form expired. Go back, reload and try again." alert />,
      403,
    );
  }
  const { account } = signedIn(c);
  const id = c.req.param("id");
  const app = (await apps(c)).find((row) => row.grantId === id);
  if (app) {
    await helpers(c).revokeGrant(id, app.userId);
    // An admin revoking someone else's app is audited with whose it was, as the API does.
    await writeAudit(c.get("services").mgmtDb, {
      tenantId: account.tenantId,
      actor: `user:${account.id}`,
      action: "oauth_grant.revoke",
      details: { grantId: id, member: app.userId, via: "console" },
      ip: clientIp(asApp(c)),
    });
  }
  return c.redirect("/app/apps", 303);
});
