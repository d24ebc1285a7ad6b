import { expect } from "vitest";
import { signUp } from "../../shared/accounts/signup";

import { config, openMgmtDb, workerFetch } from "./support";

export const BASE = "http://localhost";
export const RESOURCE = `${BASE}/mcp`;
const PASSWORD = "a long enough passphrase";

/** A signed-up owner (account, tenant, full-scope key). */
export async function newAccount() {
  const email = `oauth-${crypto.randomUUID().slice(0, 8)}@example.test`;
  const created = await signUp(openMgmtDb(), config, { email, password: PASSWORD, orgName: "OAuth Org" });
  return { email, password: PASSWORD, tenantId: created.tenant.id, apiKey: created.apiKey.key, userId: created.userId };
}

/** A browser, as far as cookies go: remembers what each response sets and sends it back. */
export class Browser {
  readonly cookies = new Map<string, string>();
  /** Each browser is its own person at its own address, so per-address limits apply per test. */
  readonly ip = `198.18.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`;

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("cf-connecting-ip", this.ip);
    if (this.cookies.size > 0) {
      headers.set("cookie", [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; "));
    }
    const response = await workerFetch(url, { ...init, headers, redirect: "manual" });
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";");
      const [name, value = ""] = (pair ?? "").split("=");
      if (!name) continue;
      if (attributes.some((attribute: string) => /^\s*max-age=0\s*$/i.test(attribute)))
        this.cookies.delete(name.trim());
      else this.cookies.set(name.trim(), value);
    }
    return response;
  }

  post(url: string, form: Record<string, string>): Promise<Response> {
    return this.fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form).toString(),
    });
  }
}

/** The value of a hidden input on a rendered page. */
export function hidden(page: string, name: string): string {
  const match = page.match(new RegExp(`name="${name}" value="([^"]*)"`));
  if (!match?.[1]) throw new Error(`no hidden ${name} on the page:\n${page.slice(0, 2000)}`);
  return unescapeHtml(match[1]);
}

/** An attribute's value as the browser reads it (numeric and the named entities JSX writes). */
function unescapeHtml(text: string): string {
  const named: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
  return text.replace(/&(#\d+|[a-z]+);/g, (entity, body: string) =>
    body.startsWith("#") ? String.fromCharCode(Number(body.slice(1))) : (named[body] ?? entity),
  );
}

export function formAction(page: string): string {
  const match = page.match(/<form method="post" action="([^"]*)"/);
  if (!match?.[1]) throw new Error("no form on the page");
  return `${BASE}${unescapeHtml(match[1])}`;
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

export async function pkce() {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64url(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))),
  );
  return { verifier, challenge };
}

export async function registerClient(body: Record<string, unknown> = {}) {
  const response = await workerFetch(`${BASE}/oauth/register`, {
    method: "POST",
    headers: { "content-type": "application/json", "cf-connecting-ip": `192.0.2.${Math.floor(Math.random() * 250)}` },
    body: JSON.stringify({
      client_name: "Test Client",
      redirect_uris: ["http://127.0.0.1:7777/callback"],
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      ...body,
    }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { client_id: string; redirect_uris: string[] };
}

export function authorizeUrl(params: Record<string, string>): string {
  return `${BASE}/authorize?${new URLSearchParams({ response_type: "code", code_challenge_method: "S256", resource: RESOURCE, ...params })}`;
}

/** Sign in on the page at `url`; returns the consent page's response. */
export async function signIn(browser: Browser, url: string, email: string, password: string): Promise<Response> {
  const page = await browser.fetch(url);
  expect(page.status).toBe(200);
  const html = await page.text();
  return browser.post(formAction(html), { step: "signin", csrf: hidden(html, "csrf"), email, password });
}

/** Choose Allow or Deny on a consent page; returns the redirect. */
export async function decide(browser: Browser, consent: Response, decision: "allow" | "deny"): Promise<Response> {
  expect(consent.status).toBe(200);
  const html = await consent.text();
  return browser.post(formAction(html), {
    step: "consent",
    handle: hidden(html, "handle"),
    proof: hidden(html, "proof"),
    decision,
  });
}

export async function exchangeCode(clientId: string, code: string, redirectUri: string, verifier: string) {
  return workerFetch(`${BASE}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": "192.0.2.250" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: redirectUri,
      client_id: clientId,
      code_verifier: verifier,
      resource: RESOURCE,
    }).toString(),
  });
}

/** The whole flow for `account`: register, authorize, sign in, allow, exchange. Returns the token response. */
export async function connect(
  account: { email: string; password: string },
  options: { scope?: string; redirectUri?: string; clientId?: string } = {},
) {
  const redirectUri = options.redirectUri ?? "http://127.0.0.1:7777/callback";
  const clientId = options.clientId ?? (await registerClient({ redirect_uris: [redirectUri] })).client_id;
  const { verifier, challenge } = await pkce();
  const browser = new Browser();
  const url = authorizeUrl({
    client_id: clientId,
    redirect_uri: redirectUri,
    state: "st-1",
    code_challenge: challenge,
    ...(options.scope !== undefined && { scope: options.scope }),
  });
  const redirect = await decide(browser, await signIn(browser, url, account.email, account.password), "allow");
  expect(redirect.status).toBe(302);
  const location = new URL(redirect.headers.get("location") ?? "");
  const code = location.searchParams.get("code") ?? "";
  const token = await exchangeCode(clientId, code, redirectUri, verifier);
  expect(token.status).toBe(200);
  return {
    clientId,
    code,
    verifier,
    redirectUri,
    location,
    tokens: (await token.json()) as { access_token: string; refresh_token: string; scope: string; token_type: string },
  };
}

/** A signed-up account, a registered client and an authorization URL for it (state `s` unless given). */
export async function newAuthorization(options: { state?: string; scope?: string; clientName?: string } = {}) {
  const account = await newAccount();
  const { client_id } = await registerClient(options.clientName ? { client_name: options.clientName } : {});
  const { verifier, challenge } = await pkce();
  const url = authorizeUrl({
    client_id,
    redirect_uri: "http://127.0.0.1:7777/callback",
    state: options.state ?? "s",
    code_challenge: challenge,
    ...(options.scope && { scope: options.scope }),
  });
  return { account, clientId: client_id, url, verifier };
}
