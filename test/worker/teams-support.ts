import { expect } from "vitest";
import { signUp } from "../../shared/accounts/signup";
import type { Plan } from "../../shared/plans";
import { createApiKey } from "../../shared/tenants/api-keys";
import { type captureEmail, linkIn, newEmail, type SentEmail } from "./console-support";
import { post } from "./mcp-support";
import {
  authorizeUrl,
  exchangeCode,
  formAction,
  hidden,
  Browser as OAuthBrowser,
  pkce,
  registerClient,
} from "./oauth-support";
import { config, openMgmtDb, workerFetch } from "./support";

const PASSWORD = "a long enough passphrase";
type Mail = ReturnType<typeof captureEmail>;

/** A JSON request with a bearer credential. */
export function api(key: string, path: string, init: { method?: string; body?: unknown } = {}): Promise<Response> {
  return workerFetch(`/api${path}`, {
    method: init.method ?? "GET",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "cf-connecting-ip": "192.0.2.77" },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
}

/** A signed-up person with their own team (verified, so they may invite) and a key with every scope. */
export async function person(tag: string, plan: Plan = "team") {
  const email = newEmail(tag);
  const db = openMgmtDb();
  const created = await signUp(db, config, { email, password: PASSWORD, orgName: `${tag} team`, plan });
  await db.execute(
    { sql: "UPDATE users SET email_verified_at = '2026-01-01T00:00:00.000Z' WHERE id = ?", args: [created.userId] },
    "write",
  );
  return { email, userId: created.userId, tenantId: created.tenant.id, key: created.apiKey.key };
}

/** Invite `email` through the API and return the link's token from the message. */
export async function invite(
  mail: Mail,
  ownerKey: string,
  email: string,
  role: string,
): Promise<{ id: string; token: string }> {
  const answer = await api(ownerKey, "/invitations", { method: "POST", body: { email, role } });
  expect(answer.status, await answer.clone().text()).toBe(201);
  const { id } = (await answer.json()) as { id: string };
  return { id, token: tokenIn(await mail.next(email)) };
}

export function tokenIn(message: SentEmail): string {
  return new URL(`http://x${linkIn(message, "/invite")}`).searchParams.get("token") ?? "";
}

/**
 * A person who joined `team` as `role` (accepting with a key of their own
 * team), and a key in `team` made as the console makes one: theirs, with
 * the most their role allows.
 */
export async function member(mail: Mail, team: { key: string; tenantId: string }, tag: string, role: string) {
  const someone = await person(tag);
  const { token } = await invite(mail, team.key, someone.email, role);
  const accepted = await api(someone.key, `/invitations/${token}/accept`, { method: "POST" });
  expect(accepted.status, await accepted.clone().text()).toBe(200);
  const scopes =
    role === "viewer"
      ? ["mcp:read"]
      : role === "member"
        ? ["mcp:tools", "keys:manage"]
        : ["mcp:tools", "keys:manage", "members:manage"];
  const key = await createApiKey(openMgmtDb(), team.tenantId, { name: `${tag}'s key`, scopes, userId: someone.userId });
  return { ...someone, teamKey: key.key, teamKeyId: key.id };
}

const toolCall = (name: string, args: Record<string, unknown>) => ({
  jsonrpc: "2.0",
  id: 7,
  method: "tools/call",
  params: { name, arguments: args },
});

/** `remember` through `/mcp` with this credential; the HTTP status (a 200 is checked to have saved it). */
export async function rememberStatus(key: string, title = "a fact"): Promise<number> {
  const response = await post(key, toolCall("remember", { kind: "fact", title, content: `${title} content` }));
  if (response.status === 200) {
    const body = (await response.json()) as { result?: { isError?: boolean } };
    expect(body.result?.isError, JSON.stringify(body)).toBeFalsy();
  }
  return response.status;
}

/** Every memory this credential can list, across projects (the `list` tool's text). */
export async function listedMemories(key: string): Promise<string> {
  const response = await post(key, toolCall("list", { all_projects: true, limit: 100 }));
  expect(response.status).toBe(200);
  const text = await response.text();
  expect(text).toContain("memories");
  return text;
}

/** OAuth as `who`, choosing `tenantId` on the consent page; the access token. */
export async function grantFor(
  who: { email: string },
  tenantId: string,
  teamsShown: number,
  scope = "mcp:tools keys:manage",
): Promise<string> {
  const redirectUri = "http://127.0.0.1:7777/callback";
  const { client_id } = await registerClient({ redirect_uris: [redirectUri] });
  const { verifier, challenge } = await pkce();
  const browser = new OAuthBrowser();
  const url = authorizeUrl({
    client_id,
    redirect_uri: redirectUri,
    state: "s",
    code_challenge: challenge,
    scope,
  });
  const page = await (await browser.fetch(url)).text();
  const consent = await browser.post(formAction(page), {
    step: "signin",
    csrf: hidden(page, "csrf"),
    email: who.email,
    password: PASSWORD,
  });
  const html = await consent.text();
  expect(html.match(/type="radio" name="team"/g)?.length ?? 0).toBe(teamsShown > 1 ? teamsShown : 0);
  const redirect = await browser.post(formAction(html), {
    step: "consent",
    handle: hidden(html, "handle"),
    proof: hidden(html, "proof"),
    team: tenantId,
    decision: "allow",
  });
  expect(redirect.status).toBe(302);
  const code = new URL(redirect.headers.get("location") ?? "").searchParams.get("code") ?? "";
  const token = await exchangeCode(client_id, code, redirectUri, verifier);
  expect(token.status).toBe(200);
  return ((await token.json()) as { access_token: string }).access_token;
}

/** Every id of one kind this credential can see through a list route. */
export async function listedIds(key: string, path: string, field = "id"): Promise<string[]> {
  const response = await api(key, path);
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: Record<string, string>[] }).data.map((item) => String(item[field]));
}
