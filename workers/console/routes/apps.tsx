/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { getAccount } from "../../../shared/accounts/accounts";
import { writeAudit } from "../../../shared/audit";
import { revokeConnectedClient, teamGrantsOf } from "../../../shared/oauth/grants";
import { grantLastUsed } from "../../auth/grant-last-used";
import { authorizationServer } from "../../auth/oauth-server";
import { clientIp } from "../../middleware/ip-rate-limit";
import { asApp, type ConsoleContext, type ConsoleEnv, signedIn } from "../context";
import { type AppRow, AppsPage, RevokeAppPage } from "../pages/apps";
import { MessagePage } from "../pages/public";
import { render } from "../render";
import { csrfValid, requireSignIn } from "../session";
import { viewer } from "./viewer";

/** `/app/apps`: OAuth grants of the signed-in account, through the same domain functions as `/api/oauth/grants`. */
export const appsPages = new Hono<ConsoleEnv>();
appsPages.use("/app/apps", requireSignIn());
appsPages.use("/app/apps/*", requireSignIn());

const helpers = (c: ConsoleContext) => authorizationServer(c.get("services").config).getOAuthApi(c.env);

async function apps(c: ConsoleContext): Promise<AppRow[]> {
  const oauth = helpers(c);
  const { account } = signedIn(c);
  // The person's own grants bound to the team the console shows.
  const home = await getAccount(c.get("services").mgmtDb, account.id);
  const grants = await teamGrantsOf(
    oauth,
    { id: account.id, tenantId: home?.tenantId ?? account.tenantId },
    account.tenantId,
  );
  return Promise.all(
    grants.map(async (grant) => {
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
        grantId: grant.grantId,
        clientName: grant.clientName ?? client?.clientName ?? grant.clientId,
        redirectHost,
        scopes: grant.scopes,
        createdAt: grant.createdAt,
        lastUsedAt,
        expiresAt: grant.expiresAt,
      };
    }),
  );
}

appsPages.get("/app/apps", async (c) => render(c, <AppsPage viewer={viewer(c)} apps={await apps(c)} />));

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
  if ((await apps(c)).some((row) => row.grantId === id) && (await revokeConnectedClient(helpers(c), account.id, id))) {
    await writeAudit(c.get("services").mgmtDb, {
      tenantId: account.tenantId,
      actor: `user:${account.id}`,
      action: "oauth_grant.revoke",
      details: { grantId: id },
      ip: clientIp(asApp(c)),
    });
  }
  return c.redirect("/app/apps", 303);
});
