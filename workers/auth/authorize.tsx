/** @jsxImportSource hono/jsx */
import {
  AuthorizationError,
  type AuthRequest,
  CimdFetchError,
  type OAuthHelpers,
} from "@cloudflare/workers-oauth-provider";
import { type Context, Hono } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { JSX } from "hono/jsx/jsx-runtime";
import { type Account, getAccount } from "../../shared/accounts/accounts";
import { findSignedIn } from "../../shared/accounts/sessions";
import { verifySignIn } from "../../shared/accounts/sign-in";
import { writeAudit } from "../../shared/audit";
import { randomString, timingSafeEqual } from "../../shared/crypto/encoding";
import { roleIn, teamsOf } from "../../shared/teams/memberships";
import { boundScopes } from "../../shared/teams/roles";
import { isScope, MCP_BASELINE_SCOPE } from "../../shared/tenants/scopes";
import { SESSION_COOKIE } from "../console/cookies";
import { applyPageHeaders } from "../console/page-headers";
import { rememberDevice, signInRefusal } from "../console/sign-in-limit";
import { clientIp, spendIpBudget } from "../middleware/ip-rate-limit";
import type { AppEnv } from "../types";
import { BUSY_MESSAGE } from "./oauth-outbound";
import { AUTHORIZE_PATH, authorizationServer, type GrantProps } from "./oauth-server";
import { ConsentPage, ErrorPage, SignInPage } from "./pages";
import { signInProof, verifySignInProof } from "./sign-in-proof";

/**
 * `/authorize`: the OAuth authorization endpoint, as two server-rendered
 * forms. GET validates the client's request (client, exact redirect URI,
 * PKCE, resource) and shows the sign-in form; POST step=signin checks the
 * password and shows the consent page; POST step=consent records Allow or
 * Deny and sends the browser back to the client.
 *
 * The client's query string stays on the form's action URL, and every POST
 * validates it again, so nothing the browser sends back is trusted more
 * than the original request.
 */
export const authorize = new Hono<AppEnv>();

const CSRF_COOKIE = "__Host-muninn-signin";

function oauth(c: Context<AppEnv>): OAuthHelpers {
  return authorizationServer(c.get("services").config).getOAuthApi(c.env);
}

/**
 * A page with the library's consent headers (its binding cookie), then the
 * console's page headers over them: the library sends a CSP of its own,
 * and ours — `default-src 'none'`, `form-action 'self'`,
 * `frame-ancestors 'none'` — must be the one that stands.
 */
async function html(
  c: Context<AppEnv>,
  page: JSX.Element,
  status = 200,
  headers?: Headers,
  formTarget?: string,
): Promise<Response> {
  const response = c.html(`<!doctype html>${(await page).toString()}`, status as 200);
  for (const [name, value] of headers ?? []) {
    if (name.toLowerCase() === "set-cookie") response.headers.append(name, value);
    else response.headers.set(name, value);
  }
  applyPageHeaders(response.headers, formTarget);
  return response;
}

/**
 * Every `/authorize` request spends the caller's per-address budget first:
 * the page is unauthenticated, and a `client_id` that is a URL makes this
 * server fetch it (oauth-outbound.ts fences that fetch; this bounds how
 * often one address can ask). The refusal is a page, as the rest of the flow.
 */
authorize.use("*", async (c, next) => {
  const limit = c.get("services").config.ipRateLimitPerMinute;
  const result = await spendIpBudget(c, "oauth-authorize", limit);
  if (result && !result.allowed) {
    const page = (
      <ErrorPage
        title="Too many requests"
        message="Too many requests from this address. Wait a minute and try again."
      />
    );
    return html(c, page, 429, new Headers({ "Retry-After": String(result.retryAfterSeconds) }));
  }
  await next();
});

/**
 * PKCE with S256 for every client, confidential ones included (the library
 * requires it only of public clients): a client secret does not stop a
 * stolen code being redeemed by whoever holds the secret, and OAuth 2.1 and
 * the MCP authorization spec both expect PKCE. The library has already
 * refused `plain` and checked the redirect URI, so the refusal goes back to
 * the client like any other.
 */
function withoutPkce(request: AuthRequest): string | null {
  if (request.codeChallenge) return null;
  const to = new URL(request.redirectUri);
  to.searchParams.set("error", "invalid_request");
  to.searchParams.set("error_description", "PKCE is required: send code_challenge with code_challenge_method=S256");
  if (request.state) to.searchParams.set("state", request.state);
  if (request.issuer) to.searchParams.set("iss", request.issuer);
  return to.toString();
}

/** The client's request, validated. Failures either go back to the client (when safe) or render here. */
async function parseRequest(c: Context<AppEnv>): Promise<AuthRequest | Response> {
  // The library reads the OAuth parameters from the URL; a POST carries them on its action URL.
  const asGet = new Request(c.req.url, { method: "GET", headers: c.req.raw.headers });
  try {
    const request = await oauth(c).parseAuthRequest(asGet);
    const refused = withoutPkce(request);
    return refused ? c.redirect(refused, 302) : request;
  } catch (error) {
    if (error instanceof AuthorizationError && error.redirectTo) return c.redirect(error.redirectTo, 302);
    if (error instanceof AuthorizationError) {
      return html(c, <ErrorPage title="This connection request is not valid" message={error.description} />, 400);
    }
    if (error instanceof CimdFetchError) {
      c.get("logger").warn("client metadata document could not be fetched", { reason: error.detail });
      if (error.detail === BUSY_MESSAGE) {
        const page = (
          <ErrorPage
            title="Busy verifying apps"
            message="Too many apps are being verified right now. Try again shortly."
          />
        );
        return html(c, page, 503, new Headers({ "Retry-After": "5" }));
      }
      return html(
        c,
        <ErrorPage
          title="This app could not be verified"
          message="Its client metadata document could not be fetched or is invalid."
        />,
        400,
      );
    }
    throw error;
  }
}

async function clientName(c: Context<AppEnv>, request: AuthRequest): Promise<string> {
  const client = await oauth(c).lookupClient(request.clientId);
  return client?.clientName || request.clientId;
}

/** Scopes to grant: what the client asked for that this server knows, or the MCP baseline when it asked for none. */
function grantedScopes(request: AuthRequest): string[] {
  const known = request.scope.filter(isScope);
  return known.length > 0 ? [...new Set(known)] : [MCP_BASELINE_SCOPE];
}

function renderSignIn(
  c: Context<AppEnv>,
  name: string,
  options: { email?: string; error?: string; status?: number } = {},
) {
  // Double-submit token: a page on another site cannot read the cookie, so it cannot sign a victim in.
  const csrf = randomString(32);
  // __Host- cookies must be Secure; browsers accept those from http://localhost and 127.0.0.1 too.
  setCookie(c, CSRF_COOKIE, csrf, { path: "/", secure: true, httpOnly: true, sameSite: "Lax", maxAge: 600 });
  const action = `${AUTHORIZE_PATH}${new URL(c.req.url).search}`;
  return html(
    c,
    <SignInPage
      action={action}
      returnTo={action}
      csrf={csrf}
      clientName={name}
      email={options.email}
      error={options.error}
    />,
    options.status,
  );
}

/** The account signed in to the console in this browser, if any: it goes straight to consent. */
async function consoleAccount(c: Context<AppEnv>): Promise<Account | null> {
  const id = getCookie(c, SESSION_COOKIE);
  if (!id) return null;
  const { mgmtDb } = c.get("services");
  return (await findSignedIn(mgmtDb, id))?.account ?? null;
}

authorize.get("/", async (c) => {
  const request = await parseRequest(c);
  if (request instanceof Response) return request;
  const account = await consoleAccount(c);
  if (account) return renderConsent(c, request, account);
  return renderSignIn(c, await clientName(c, request));
});

authorize.post("/", async (c) => {
  const request = await parseRequest(c);
  if (request instanceof Response) return request;
  const form = await c.req.formData();
  const step = String(form.get("step") ?? "");
  if (step === "signin") return signIn(c, request, form);
  if (step === "consent") return consent(c, form);
  return html(c, <ErrorPage title="Something went wrong" message="The form was not recognised; start again." />, 400);
});

async function signIn(c: Context<AppEnv>, request: AuthRequest, form: FormData): Promise<Response> {
  const name = await clientName(c, request);
  const email = String(form.get("email") ?? "").slice(0, 254);
  const password = String(form.get("password") ?? "").slice(0, 1024);
  const csrf = String(form.get("csrf") ?? "");
  const cookie = getCookie(c, CSRF_COOKIE) ?? "";
  if (!csrf || !cookie || !(await timingSafeEqual(csrf, cookie))) {
    return renderSignIn(c, name, { email, error: "This form expired. Sign in again.", status: 403 });
  }

  const limited = await signInRefusal(c, email);
  if (limited) return renderSignIn(c, name, { email, error: limited, status: 429 });

  const account = await verifySignIn(c.get("services").mgmtDb, email, password);
  if (!account) {
    c.get("logger").warn("sign-in failed", { route: AUTHORIZE_PATH });
    return renderSignIn(c, name, { email, error: "Wrong email or password.", status: 401 });
  }
  await rememberDevice(c, account.email);
  return renderConsent(c, request, account);
}

/** The consent page for a signed-in account, carrying proof of who signed in for this consent only. */
async function renderConsent(c: Context<AppEnv>, request: AuthRequest, account: Account): Promise<Response> {
  const helpers = oauth(c);
  const details = await helpers.describeConsent(request);
  const transaction = await helpers.beginConsent(request);
  const proof = await signInProof(c.get("services").config.dbTokenEncryptionKey, transaction.handle, account.id);
  const teams = await teamsOf(c.get("services").mgmtDb, account.id);
  const action = `${AUTHORIZE_PATH}${new URL(c.req.url).search}`;
  return html(
    c,
    <ConsentPage
      action={action}
      details={details}
      scopes={grantedScopes(request)}
      handle={transaction.handle}
      proof={proof}
      email={account.email}
      teams={teams}
      currentTeam={
        teams.some((team) => team.tenantId === account.tenantId) ? account.tenantId : (teams[0]?.tenantId ?? "")
      }
    />,
    200,
    transaction.headers,
    // Allow and Deny end with a redirect to the client: its redirect URI (validated above) is a form target.
    request.redirectUri,
  );
}

async function consent(c: Context<AppEnv>, form: FormData): Promise<Response> {
  const handle = String(form.get("handle") ?? "");
  const proof = String(form.get("proof") ?? "");
  const helpers = oauth(c);
  const userId =
    handle && proof ? await verifySignInProof(c.get("services").config.dbTokenEncryptionKey, handle, proof) : null;
  if (!userId) {
    return html(
      c,
      <ErrorPage title="Sign-in expired" message="Your sign-in for this request expired. Start again." />,
      400,
    );
  }
  try {
    if (form.get("decision") !== "allow") {
      const denied = await helpers.denyConsent(c.req.raw, handle);
      return new Response(null, { status: 302, headers: denied.headers });
    }
    const account = await getAccount(c.get("services").mgmtDb, userId);
    if (!account) return html(c, <ErrorPage title="Account not found" message="This account no longer exists." />, 400);
    // The scope granted is the one the consent page showed: from the request stored when the page was
    // made, never from this POST's URL, which the browser (or whoever crafted the form) controls.
    // The team comes from the form, so it is checked against the account's
    // memberships now: a crafted form cannot bind a grant to a team the
    // person is not in. The role then bounds what the grant carries.
    const { mgmtDb } = c.get("services");
    const chosen = String(form.get("team") ?? "");
    // A form without a team (a client that scripts the page) may stand only for a person in exactly one team.
    const only = chosen ? [] : await teamsOf(mgmtDb, account.id);
    const tenantId = chosen || (only.length === 1 ? (only[0]?.tenantId ?? "") : "");
    const role = tenantId ? await roleIn(mgmtDb, tenantId, account.id) : null;
    if (!role) {
      return html(
        c,
        <ErrorPage title="Team not found" message="You are not a member of the team this form named. Start again." />,
        400,
      );
    }
    const approved = await helpers.approveConsent(c.req.raw, handle);
    const scope = boundScopes(grantedScopes(approved.request), role);
    if (scope.length === 0) {
      return html(
        c,
        <ErrorPage
          title="Not allowed for your role"
          message={`As a team ${role} you cannot give this app what it asked for.`}
        />,
        403,
      );
    }
    const client = await helpers.lookupClient(approved.request.clientId);
    const props: GrantProps = { userId: account.id, tenantId, clientName: client?.clientName ?? null };
    const { redirectTo } = await helpers.completeAuthorization({
      request: approved.request,
      userId: account.id,
      // The team in clear beside the encrypted props, so the team's grants can be listed and revoked.
      metadata: { clientName: client?.clientName ?? null, tenantId },
      scope,
      props,
    });
    c.get("logger").info("oauth grant created", { tenant: tenantId, client: approved.request.clientId, scope });
    await writeAudit(c.get("services").mgmtDb, {
      tenantId,
      actor: `user:${account.id}`,
      action: "oauth_grant.create",
      details: { clientId: approved.request.clientId },
      after: { clientName: client?.clientName ?? null, scope },
      ip: clientIp(c),
    });
    approved.headers.set("Location", redirectTo);
    return new Response(null, { status: 302, headers: approved.headers });
  } catch (error) {
    if (error instanceof AuthorizationError) {
      return html(
        c,
        <ErrorPage title="This page expired" message={`${error.description}. Start again from the app.`} />,
        400,
      );
    }
    throw error;
  }
}
