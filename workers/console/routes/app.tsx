/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { z } from "zod";
import {
  chosenDisplayName,
  DISPLAY_NAME_MAX,
  displayNameProblem,
  displayNameStatement,
  emailTaken,
  normalizeEmail,
  passwordHashStatement,
} from "../../../shared/accounts/accounts";
import { issueEmailToken } from "../../../shared/accounts/email-tokens";
import { hashPassword, passwordProblem, verifyPassword } from "../../../shared/accounts/passwords";
import { destroyAllSessions, destroyAllSessionsStatement } from "../../../shared/accounts/sessions";
import { auditStatement, listAudit, writeAudit } from "../../../shared/audit";
import { sendEmail } from "../../../shared/email/mailer";
import { managesAllCredentials, scopesBeyondRole } from "../../../shared/teams/roles";
import { createApiKey, getApiKey, listApiKeys, revokeApiKey } from "../../../shared/tenants/api-keys";
import { SCOPES } from "../../../shared/tenants/scopes";
import { forgetApiKey } from "../../auth/authenticate";
import { mcpResource } from "../../auth/oauth-server";
import { clientIp } from "../../middleware/ip-rate-limit";
import { describeConnection, firstConnection } from "../connection-status";
import { asApp, type ConsoleContext, type ConsoleEnv, signedIn } from "../context";
import { confirmNewEmail } from "../emails";
import { CLIENTS, type ClientId, ConnectPage, ConnectStatusPage } from "../pages/connect";
import { KeysPage, RevokeKeyPage } from "../pages/keys";
import { MessagePage } from "../pages/public";
import { SettingsPage } from "../pages/settings";
import { render } from "../render";
import { csrfValid, endSession, requireSignIn, startSession } from "../session";
import { forgetAccountSessions } from "../session-cache";
import { viewer } from "./viewer";

/** `/app/*`: the signed-in console. Every POST checks the CSRF token before anything else. */
export const appPages = new Hono<ConsoleEnv>();
appPages.use("/app/*", requireSignIn());

export function actor(c: ConsoleContext) {
  return { actor: `user:${signedIn(c).account.id}`, ip: clientIp(asApp(c)) };
}

export async function postedForm(c: ConsoleContext): Promise<FormData | Response> {
  const form = await c.req.formData();
  if (await csrfValid(c, form)) return form;
  return render(
    c,
    <MessagePage title="Form expired" message="This form expired. Go back, reload and try again." alert />,
    403,
  );
}

appPages.get("/app", (c) => c.redirect("/app/connect", 303));

appPages.get("/app/connect", (c) =>
  render(
    c,
    <ConnectPage
      viewer={viewer(c)}
      mcpUrl={mcpResource(c.get("services").config)}
      verifiedNow={c.req.query("verified") === "1"}
    />,
  ),
);

appPages.post("/app/connect/key", async (c) => {
  const form = await postedForm(c);
  if (form instanceof Response) return form;
  const client = String(form.get("client") ?? "");
  if (!(client in CLIENTS)) return c.redirect("/app/connect", 303);
  const { account } = signedIn(c);
  const since = new Date().toISOString();
  // A viewer's agent reads; everyone else's uses every memory tool.
  const scopes = signedIn(c).session.role === "viewer" ? ["mcp:read"] : ["mcp:tools"];
  const created = await createApiKey(
    c.get("services").mgmtDb,
    account.tenantId,
    { name: CLIENTS[client as ClientId], scopes, userId: account.id },
    actor(c),
  );
  return render(
    c,
    <ConnectPage
      viewer={viewer(c)}
      mcpUrl={mcpResource(c.get("services").config)}
      created={{ client: client as ClientId, key: created.key, keyId: created.id, since }}
    />,
  );
});

/** JSON for the page's script, or a small page for a browser without it. */
appPages.get("/app/connect/status", async (c) => {
  const { account } = signedIn(c);
  const keyId = c.req.query("key") ?? "";
  const since = Date.parse(c.req.query("since") ?? "");
  const sessions = (await c.env.TENANT_DO.getByName(account.tenantId).listSessions()).sessions;
  const connection = await firstConnection(
    c.get("services").mgmtDb,
    account.tenantId,
    keyId,
    Number.isFinite(since) ? since : Date.now(),
    sessions,
  );
  const text = connection ? describeConnection(connection) : null;
  if ((c.req.header("accept") ?? "").includes("application/json")) {
    return c.json({ connected: connection ? { ...connection, text } : null }, 200, { "Cache-Control": "no-store" });
  }
  return render(c, <ConnectStatusPage viewer={viewer(c)} text={text} />);
});

/** Whose keys the signed-in person manages here: everyone's for owners and admins, else their own. */
function ownKeysOnly(c: ConsoleContext): string | null {
  const { account, session } = signedIn(c);
  return managesAllCredentials(session.role) ? null : account.id;
}

appPages.get("/app/keys", async (c) => {
  const keys = await listApiKeys(c.get("services").mgmtDb, signedIn(c).account.tenantId, ownKeysOnly(c));
  return render(c, <KeysPage viewer={viewer(c)} keys={keys} />);
});

const keyForm = z.object({
  name: z.string().trim().min(1).max(100),
  scopes: z.array(z.enum(SCOPES)).min(1),
  expires: z.union([z.literal(""), z.iso.date()]),
});

appPages.post("/app/keys", async (c) => {
  const form = await postedForm(c);
  if (form instanceof Response) return form;
  const { mgmtDb } = c.get("services");
  const tenantId = signedIn(c).account.tenantId;
  const parsed = keyForm.safeParse({
    name: form.get("name") ?? "",
    scopes: form.getAll("scopes"),
    expires: form.get("expires") ?? "",
  });
  const expiresAt = parsed.success && parsed.data.expires ? `${parsed.data.expires}T23:59:59.999Z` : null;
  const role = signedIn(c).session.role;
  const beyond = parsed.success ? scopesBeyondRole(parsed.data.scopes, role) : [];
  const problem = !parsed.success
    ? "Give the key a name (up to 100 characters), at least one scope, and a valid date if it expires."
    : expiresAt && Date.parse(expiresAt) <= Date.now()
      ? "The expiry date must be in the future."
      : beyond.length > 0
        ? `As a team ${role} your keys cannot carry ${beyond.join(", ")}.`
        : null;
  if (problem || !parsed.success) {
    return render(
      c,
      <KeysPage viewer={viewer(c)} keys={await listApiKeys(mgmtDb, tenantId, ownKeysOnly(c))} error={problem} />,
      400,
    );
  }
  const created = await createApiKey(
    mgmtDb,
    tenantId,
    { name: parsed.data.name, scopes: parsed.data.scopes, expiresAt, userId: signedIn(c).account.id },
    actor(c),
  );
  return render(
    c,
    <KeysPage
      viewer={viewer(c)}
      keys={await listApiKeys(mgmtDb, tenantId, ownKeysOnly(c))}
      created={{ name: created.name, key: created.key }}
    />,
  );
});

appPages.get("/app/keys/:id/revoke", async (c) => {
  const key = await getApiKey(
    c.get("services").mgmtDb,
    signedIn(c).account.tenantId,
    c.req.param("id"),
    ownKeysOnly(c),
  );
  if (!key)
    return render(
      c,
      <MessagePage
        title="Key not found"
        message="This key does not exist or was already revoked."
        link={{ href: "/app/keys", label: "Back to keys" }}
      />,
      404,
    );
  return render(c, <RevokeKeyPage viewer={viewer(c)} key_={key} />);
});

appPages.post("/app/keys/:id/revoke", async (c) => {
  const form = await postedForm(c);
  if (form instanceof Response) return form;
  const revoked = await revokeApiKey(
    c.get("services").mgmtDb,
    signedIn(c).account.tenantId,
    c.req.param("id"),
    actor(c),
    ownKeysOnly(c),
  );
  if (revoked) forgetApiKey(c.req.param("id"));
  return c.redirect("/app/keys", 303);
});

async function settings(
  c: ConsoleContext,
  extra: { error?: { form: "password" | "email" | "name"; message: string }; notice?: string; name?: string } = {},
  status = 200,
) {
  const { mgmtDb } = c.get("services");
  const { account } = signedIn(c);
  const [{ entries }, name] = await Promise.all([
    listAudit(mgmtDb, { tenantId: account.tenantId, limit: 20 }),
    extra.name ?? chosenDisplayName(mgmtDb, account.id),
  ]);
  return render(c, <SettingsPage viewer={viewer(c)} audit={entries} {...extra} name={name} />, status);
}

const NOTICES: Record<string, string> = {
  password: "Your password was changed. Every other session was signed out.",
  name: "Your name was saved. Your team sees it on the team page and on what you wrote.",
};

/**
 * The name teammates see (the team page, "by Ada" on memories). Empty puts
 * back the default, the part of the email before the @. Pages read it fresh
 * on every view, so no cache needs forgetting.
 */
appPages.post("/app/settings/name", async (c) => {
  const form = await postedForm(c);
  if (form instanceof Response) return form;
  const name = String(form.get("name") ?? "")
    .trim()
    .slice(0, DISPLAY_NAME_MAX + 1);
  const problem = displayNameProblem(name);
  if (problem) return settings(c, { error: { form: "name", message: problem }, name }, 400);
  const { account } = signedIn(c);
  await c.get("services").mgmtDb.batch(
    [
      displayNameStatement(account.id, name || null),
      auditStatement({
        tenantId: account.tenantId,
        ...actor(c),
        action: "account.name_change",
        details: { userId: account.id },
        after: { displayName: name || null },
      }),
    ],
    "write",
  );
  return c.redirect("/app/settings?changed=name", 303);
});

appPages.get("/app/settings", (c) => settings(c, { notice: NOTICES[c.req.query("changed") ?? ""] }));

/**
 * A new address takes effect only when its owner opens the link sent to it
 * (the account keeps its current, verified address until then). A taken
 * address gets the same answer and no link, so this form tells nobody who
 * has an account.
 */
appPages.post("/app/settings/email", async (c) => {
  const form = await postedForm(c);
  if (form instanceof Response) return form;
  const { account } = signedIn(c);
  const email = String(form.get("email") ?? "").slice(0, 254);
  const current = String(form.get("current_password") ?? "").slice(0, 1024);
  if (!account.passwordHash || !(await verifyPassword(current, account.passwordHash))) {
    return settings(c, { error: { form: "email", message: "Your current password is not right." } }, 400);
  }
  if (!z.email().safeParse(email).success) {
    return settings(c, { error: { form: "email", message: "Enter a valid email address." } }, 400);
  }
  const { mgmtDb, config } = c.get("services");
  const address = normalizeEmail(email);
  if (!(await emailTaken(mgmtDb, address))) {
    const token = await issueEmailToken(mgmtDb, { purpose: "change_email", userId: account.id, email: address });
    await sendEmail(
      c.env.EMAIL,
      config,
      c.get("logger"),
      "change_email",
      confirmNewEmail(address, `${config.publicUrl}/verify-email?token=${token}`),
    );
  }
  return settings(c, { notice: `We sent a link to ${address}. Your address changes when you open it.` });
});

/** A new password ends every session of the account, then signs this browser in again with a new one. */
appPages.post("/app/settings/password", async (c) => {
  const form = await postedForm(c);
  if (form instanceof Response) return form;
  const { account } = signedIn(c);
  const current = String(form.get("current_password") ?? "").slice(0, 1024);
  const next = String(form.get("new_password") ?? "").slice(0, 1024);
  if (!account.passwordHash || !(await verifyPassword(current, account.passwordHash))) {
    return settings(c, { error: { form: "password", message: "Your current password is not right." } }, 400);
  }
  const problem = passwordProblem(next, account.email);
  if (problem)
    return settings(
      c,
      { error: { form: "password", message: `Choose a stronger password: ${problem.replace(/^password: /, "")}.` } },
      400,
    );
  const { mgmtDb } = c.get("services");
  await mgmtDb.batch(
    [
      passwordHashStatement(account.id, await hashPassword(next)),
      destroyAllSessionsStatement(account.id),
      auditStatement({
        tenantId: account.tenantId,
        ...actor(c),
        action: "account.password_change",
        details: { userId: account.id },
      }),
    ],
    "write",
  );
  // Every session ended in the database: this isolate stops serving them now, others within SESSION_CACHE_MS.
  forgetAccountSessions(account.id);
  c.set("signedIn", null);
  await startSession(c, account.id);
  return c.redirect("/app/settings?changed=password", 303);
});

appPages.post("/app/settings/sign-out-everywhere", async (c) => {
  const form = await postedForm(c);
  if (form instanceof Response) return form;
  const { account } = signedIn(c);
  const { mgmtDb } = c.get("services");
  await destroyAllSessions(mgmtDb, account.id);
  forgetAccountSessions(account.id);
  await writeAudit(mgmtDb, {
    tenantId: account.tenantId,
    ...actor(c),
    action: "account.sign_out_everywhere",
    details: { userId: account.id },
  });
  await endSession(c);
  return c.redirect("/signin", 303);
});
