import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { network } from "../../workers/auth/oauth-outbound";
import { OAUTH_PURGE_CRON } from "../../workers/auth/oauth-purge";
import worker from "../../workers/index";
import { post, TOOLS_LIST } from "./mcp-support";
import {
  authorizeUrl,
  BASE,
  Browser,
  connect,
  decide,
  exchangeCode,
  formAction,
  hidden,
  newAccount,
  newAuthorization,
  pkce,
  RESOURCE,
  registerClient,
  signIn,
} from "./oauth-support";
import { workerFetch } from "./support";

const urlOf = (input: RequestInfo | URL) =>
  typeof input === "string" ? input : input instanceof URL ? input.href : input.url;

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe("discovery", () => {
  it("publishes protected-resource metadata at the URL the 401 names, and the issuer's metadata", async () => {
    const challenge = (await post(null, TOOLS_LIST)).headers.get("www-authenticate") ?? "";
    const metadataUrl = challenge.match(/resource_metadata="([^"]+)"/)?.[1] ?? "";
    expect(metadataUrl).toBe(`${BASE}/.well-known/oauth-protected-resource/mcp`);
    for (const url of [metadataUrl, `${BASE}/.well-known/oauth-protected-resource`]) {
      const response = await workerFetch(url);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({
        resource: RESOURCE,
        authorization_servers: [BASE],
        scopes_supported: ["mcp:tools"],
      });
    }
    // Built from configuration, not from the Host a client sent.
    const spoofed = await workerFetch(metadataUrl, { headers: { host: "evil.example" } });
    expect(((await spoofed.json()) as { resource: string }).resource).toBe(RESOURCE);

    const issuer = await workerFetch(`${BASE}/.well-known/oauth-authorization-server`);
    expect(issuer.status).toBe(200);
    expect(await issuer.json()).toMatchObject({
      issuer: BASE,
      authorization_endpoint: `${BASE}/authorize`,
      token_endpoint: `${BASE}/oauth/token`,
      registration_endpoint: `${BASE}/oauth/register`,
      code_challenge_methods_supported: ["S256"],
      scopes_supported: ["mcp:tools", "mcp:read", "keys:manage", "members:manage"],
      client_id_metadata_document_supported: true,
      authorization_response_iss_parameter_supported: true,
    });
  });
});

describe("authorization code flow", () => {
  it("signs in, consents, exchanges the code and calls tools/list on /mcp with the access token", async () => {
    const account = await newAccount();
    const { tokens, location } = await connect(account);
    expect(location.origin + location.pathname).toBe("http://127.0.0.1:7777/callback");
    expect(location.searchParams.get("state")).toBe("st-1");
    expect(location.searchParams.get("iss")).toBe(BASE);
    expect(tokens.token_type.toLowerCase()).toBe("bearer");
    expect(tokens.scope).toBe("mcp:tools");
    // Never shaped like our API keys, so the two kinds of credential cannot be confused.
    expect(tokens.access_token.startsWith("mk_")).toBe(false);

    const listed = await post(tokens.access_token, TOOLS_LIST);
    expect(listed.status).toBe(200);
    const body = (await listed.json()) as { result: { tools: { name: string }[] } };
    expect(body.result.tools.map((tool) => tool.name)).toContain("remember");

    const me = await workerFetch(`${BASE}/api/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ tenant_id: account.tenantId, key_id: null, scopes: ["mcp:tools"] });
  });

  it("shows the client's name escaped, its redirect host and the scopes on the consent page", async () => {
    const account = await newAccount();
    const { client_id } = await registerClient({ client_name: '<script>alert("x")</script> Tool' });
    const { challenge } = await pkce();
    const browser = new Browser();
    const url = authorizeUrl({
      client_id,
      redirect_uri: "http://127.0.0.1:7777/callback",
      state: "s",
      code_challenge: challenge,
      scope: "mcp:read keys:manage",
    });
    const signInPage = await (await browser.fetch(url)).text();
    expect(signInPage).not.toContain("<script>");
    expect(signInPage).toContain("&lt;script&gt;");
    const consent = await signIn(browser, url, account.email, account.password);
    const html = await consent.text();
    expect(consent.headers.get("x-frame-options")).toBe("DENY");
    expect(html).not.toContain("<script>");
    expect(html).toContain("127.0.0.1");
    expect(html).toContain("an app on your computer");
    expect(html).toContain("<code>mcp:read</code>");
    expect(html).toContain("<code>keys:manage</code>");
    expect(html).toContain('value="allow"');
    expect(html).toContain('value="deny"');
  });

  it("shows an error on the page for a wrong password, and an unknown email alike", async () => {
    const { account, url } = await newAuthorization();
    for (const email of [account.email, "nobody@example.test"]) {
      const response = await signIn(new Browser(), url, email, "not the password at all");
      expect(response.status).toBe(401);
      const html = await response.text();
      expect(html).toContain('role="alert"');
      expect(html).toContain("Wrong email or password.");
      expect(html).toContain('name="password"');
    }
  });

  it("refuses a sign-in form posted without its CSRF cookie", async () => {
    const { account, url } = await newAuthorization();
    const html = await (await new Browser().fetch(url)).text();
    const forged = await new Browser().post(formAction(html), {
      step: "signin",
      csrf: hidden(html, "csrf"),
      email: account.email,
      password: account.password,
    });
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain("This form expired");
  });

  it("Deny returns access_denied with the state to the client", async () => {
    const { account, url } = await newAuthorization({ state: "deny-1" });
    const browser = new Browser();
    const redirect = await decide(browser, await signIn(browser, url, account.email, account.password), "deny");
    expect(redirect.status).toBe(302);
    const location = new URL(redirect.headers.get("location") ?? "");
    expect(location.origin + location.pathname).toBe("http://127.0.0.1:7777/callback");
    expect(location.searchParams.get("error")).toBe("access_denied");
    expect(location.searchParams.get("state")).toBe("deny-1");
    expect(location.searchParams.get("code")).toBeNull();
  });

  it("never redirects to a redirect URI that was not registered (no open redirect)", async () => {
    const { client_id } = await registerClient();
    const { challenge } = await pkce();
    for (const redirectUri of [
      "https://evil.example/callback",
      "http://127.0.0.1:7777/other",
      "http://127.0.0.1:7777/callback/x",
    ]) {
      const response = await new Browser().fetch(
        authorizeUrl({ client_id, redirect_uri: redirectUri, state: "s", code_challenge: challenge }),
      );
      expect(response.status, redirectUri).toBe(400);
      expect(response.headers.get("location")).toBeNull();
    }
  });

  it("accepts a loopback redirect on any port (RFC 8252) and uses each code once", async () => {
    const account = await newAccount();
    const { client_id } = await registerClient({ redirect_uris: ["http://127.0.0.1/callback"] });
    const flow = await connect(account, { clientId: client_id, redirectUri: "http://127.0.0.1:53124/callback" });
    expect(flow.location.port).toBe("53124");
    const again = await exchangeCode(client_id, flow.code, flow.redirectUri, flow.verifier);
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: "invalid_grant" });
  });

  it("a token with mcp:read calls read tools only; keys:manage is needed for /api/keys", async () => {
    const account = await newAccount();
    const { tokens } = await connect(account, { scope: "mcp:read" });
    expect(tokens.scope).toBe("mcp:read");
    const write = await post(tokens.access_token, {
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "remember", arguments: { type: "fact", title: "t", content: "c" } },
    });
    expect(write.status).toBe(403);
    expect(write.headers.get("www-authenticate")).toContain('error="insufficient_scope", scope="mcp:tools"');
    const keys = await workerFetch(`${BASE}/api/keys`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(keys.status).toBe(403);

    const manager = await connect(account, { scope: "mcp:tools keys:manage" });
    const allowed = await workerFetch(`${BASE}/api/keys`, {
      headers: { authorization: `Bearer ${manager.tokens.access_token}` },
    });
    expect(allowed.status).toBe(200);
  });
});

describe("connected clients", () => {
  it("the owner lists grants and revokes one; its access token then gets 401", async () => {
    const account = await newAccount();
    const { tokens, clientId } = await connect(account);
    const auth = { authorization: `Bearer ${account.apiKey}` };
    const listed = (await (await workerFetch(`${BASE}/api/oauth/grants`, { headers: auth })).json()) as {
      data: { id: string; client_id: string; client_name: string; scopes: string[] }[];
    };
    const grant = listed.data.find((entry) => entry.client_id === clientId);
    expect(grant).toMatchObject({ client_name: "Test Client", scopes: ["mcp:tools"] });

    const revoked = await workerFetch(`${BASE}/api/oauth/grants/${grant?.id}`, { method: "DELETE", headers: auth });
    expect(revoked.status).toBe(200);
    const refused = await post(tokens.access_token, TOOLS_LIST);
    expect(refused.status).toBe(401);
    expect(
      (await workerFetch(`${BASE}/api/oauth/grants/${grant?.id}`, { method: "DELETE", headers: auth })).status,
    ).toBe(404);
  });
});

describe("Client ID Metadata Documents", () => {
  it("lets a client whose client_id is its metadata URL authorize without registering", async () => {
    const account = await newAccount();
    const clientId = "https://client.example.test/oauth/metadata.json";
    const redirectUri = "http://127.0.0.1:7788/callback";
    // The test origin serving the document, beneath the fence every library fetch goes through.
    const served = vi.spyOn(network, "fetch").mockImplementation(async (input) => {
      const url = urlOf(input);
      if (url === clientId) {
        return Response.json(
          {
            client_id: clientId,
            client_name: "Metadata Client",
            redirect_uris: [redirectUri],
            token_endpoint_auth_method: "none",
            grant_types: ["authorization_code", "refresh_token"],
            response_types: ["code"],
          },
          { headers: { "cache-control": "no-store" } },
        );
      }
      return new Response("not found", { status: 404 });
    });
    const browser = new Browser();
    const { verifier, challenge } = await pkce();
    const url = authorizeUrl({
      client_id: clientId,
      redirect_uri: redirectUri,
      state: "cimd",
      code_challenge: challenge,
    });
    const consent = await signIn(browser, url, account.email, account.password);
    const html = await consent.clone().text();
    expect(html).toContain("Metadata Client");
    expect(html).toContain("Published by <strong>client.example.test</strong>");
    const redirect = await decide(browser, consent, "allow");
    const code = new URL(redirect.headers.get("location") ?? "").searchParams.get("code") ?? "";
    const token = await exchangeCode(clientId, code, redirectUri, verifier);
    expect(token.status).toBe(200);
    const { access_token } = (await token.json()) as { access_token: string };
    expect((await post(access_token, TOOLS_LIST)).status).toBe(200);
    expect(served.mock.calls.some(([input]) => urlOf(input) === clientId)).toBe(true);
  });
});

describe("token endpoint", () => {
  it("is limited per client address", async () => {
    let refused: Response | null = null;
    for (let i = 0; i < 40 && !refused; i++) {
      const response = await workerFetch(`${BASE}/oauth/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": "198.51.100.77" },
        body: "grant_type=authorization_code&code=nope",
      });
      if (response.status === 429) refused = response;
    }
    expect(refused?.status).toBe(429);
    expect(Number(refused?.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});

describe("sign-in limits", () => {
  it("refuses an account's sign-ins after ten attempts a minute, from any address, on the page", async () => {
    const { account, url } = await newAuthorization();
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const browser = new Browser();
      const page = await (await browser.fetch(url)).text();
      const response = await browser.post(formAction(page), {
        step: "signin",
        csrf: hidden(page, "csrf"),
        email: account.email,
        password: `wrong guess number ${i}`,
      });
      statuses.push(response.status);
      if (i === 10) expect(await response.text()).toContain("Too many sign-in attempts for this account");
    }
    expect(statuses.slice(0, 10).every((status) => status === 401)).toBe(true);
    expect(statuses[10]).toBe(429);
    // Even the right password waits until the minute is over.
    expect((await signIn(new Browser(), url, account.email, account.password)).status).toBe(429);
  });
});

describe("scheduled purge", () => {
  it("the hourly cron removes grants past their lifetime from OAUTH_KV", async () => {
    const account = await newAccount();
    const { clientId } = await connect(account);
    const grants = async () =>
      (
        (await (
          await workerFetch(`${BASE}/api/oauth/grants`, { headers: { authorization: `Bearer ${account.apiKey}` } })
        ).json()) as {
          data: { client_id: string }[];
        }
      ).data.filter((grant) => grant.client_id === clientId);
    expect(await grants()).toHaveLength(1);

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 31 * 24 * 3600 * 1000);
    await worker.scheduled(createScheduledController({ cron: OAUTH_PURGE_CRON }), env);
    vi.useRealTimers();
    expect(await grants()).toHaveLength(0);
  });
});
