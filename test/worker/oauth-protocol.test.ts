import { describe, expect, it } from "vitest";
import { MAX_CLIENT_NAME_CHARS, MAX_REDIRECT_URIS } from "../../shared/oauth/client-metadata";
import { post, TOOLS_LIST } from "./mcp-support";
import { BASE, Browser, connect, newAccount, pkce, RESOURCE, registerClient } from "./oauth-support";
import { workerFetch } from "./support";

const REDIRECT_URI = "http://127.0.0.1:7777/callback";

function refresh(clientId: string, refreshToken: string): Promise<Response> {
  return workerFetch(`${BASE}/oauth/token`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "cf-connecting-ip": `192.0.2.${Math.floor(Math.random() * 200)}`,
    },
    body: new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: refreshToken,
      client_id: clientId,
      resource: RESOURCE,
    }).toString(),
  });
}

type Tokens = { access_token: string; refresh_token: string };

async function refreshed(clientId: string, refreshToken: string): Promise<Tokens> {
  const response = await refresh(clientId, refreshToken);
  expect(response.status).toBe(200);
  return (await response.json()) as Tokens;
}

async function expectReuseRefused(response: Response) {
  expect(response.status).toBe(400);
  const body = (await response.json()) as { error: string; error_description: string };
  expect(body.error).toBe("invalid_grant");
  expect(body.error_description).toContain("revoked");
}

describe("PKCE", () => {
  it("is required of confidential clients too: no code_challenge goes back to the client as invalid_request", async () => {
    const registered = await registerClient({
      token_endpoint_auth_method: "client_secret_basic",
      redirect_uris: [REDIRECT_URI],
    });
    expect(registered).toHaveProperty("client_secret");
    const query = new URLSearchParams({
      response_type: "code",
      client_id: registered.client_id,
      redirect_uri: REDIRECT_URI,
      state: "no-pkce",
      resource: RESOURCE,
    });
    const refused = await new Browser().fetch(`${BASE}/authorize?${query}`);
    expect(refused.status).toBe(302);
    const location = new URL(refused.headers.get("location") ?? "");
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
    expect(location.searchParams.get("error")).toBe("invalid_request");
    expect(location.searchParams.get("error_description")).toContain("S256");
    expect(location.searchParams.get("state")).toBe("no-pkce");
    expect(location.searchParams.get("iss")).toBe(BASE);

    // The same client with S256 gets the sign-in page.
    const { challenge } = await pkce();
    query.set("code_challenge", challenge);
    query.set("code_challenge_method", "S256");
    expect((await new Browser().fetch(`${BASE}/authorize?${query}`)).status).toBe(200);
  });
});

describe("refresh-token reuse", () => {
  it("the token just rotated out, used again, revokes the grant: every token of it stops", async () => {
    const account = await newAccount();
    const { clientId, tokens } = await connect(account);
    const second = await refreshed(clientId, tokens.refresh_token);
    expect((await post(second.access_token, TOOLS_LIST)).status).toBe(200);

    await expectReuseRefused(await refresh(clientId, tokens.refresh_token));
    expect((await refresh(clientId, second.refresh_token)).status).toBe(400);
    expect((await post(second.access_token, TOOLS_LIST)).status).toBe(401);
    const grants = (await (
      await workerFetch(`${BASE}/api/oauth/grants`, { headers: { authorization: `Bearer ${account.apiKey}` } })
    ).json()) as { data: { client_id: string }[] };
    expect(grants.data.filter((grant) => grant.client_id === clientId)).toEqual([]);
  });

  it("an older rotated-out token revokes the grant too", async () => {
    const account = await newAccount();
    const { clientId, tokens } = await connect(account);
    const second = await refreshed(clientId, tokens.refresh_token);
    const third = await refreshed(clientId, second.refresh_token);

    await expectReuseRefused(await refresh(clientId, tokens.refresh_token));
    expect((await refresh(clientId, third.refresh_token)).status).toBe(400);
    expect((await post(third.access_token, TOOLS_LIST)).status).toBe(401);
  });

  it("a refresh token that was never valid is refused without touching the grant", async () => {
    const account = await newAccount();
    const { clientId, tokens } = await connect(account);
    const [userId, grantId] = tokens.refresh_token.split(":");
    const forged = await refresh(clientId, `${userId}:${grantId}:not-the-secret`);
    expect(forged.status).toBe(400);
    expect((await forged.json()) as { error: string }).toMatchObject({ error: "invalid_grant" });
    const next = await refreshed(clientId, tokens.refresh_token);
    expect((await post(next.access_token, TOOLS_LIST)).status).toBe(200);
  });
});

describe("dynamic registration", () => {
  async function register(body: Record<string, unknown>): Promise<Response> {
    return workerFetch(`${BASE}/oauth/register`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "cf-connecting-ip": `203.0.113.${Math.floor(Math.random() * 250)}`,
      },
      body: JSON.stringify({
        client_name: "Test Client",
        redirect_uris: [REDIRECT_URI],
        token_endpoint_auth_method: "none",
        ...body,
      }),
    });
  }

  async function expectRefused(body: Record<string, unknown>, mentions: string) {
    const response = await register(body);
    expect(response.status, JSON.stringify(body)).toBe(400);
    const answer = (await response.json()) as { error: string; error_description: string };
    expect(answer.error).toBe("invalid_client_metadata");
    expect(answer.error_description).toContain(mentions);
  }

  it(`caps client_name at ${MAX_CLIENT_NAME_CHARS} characters and redirect_uris at ${MAX_REDIRECT_URIS}`, async () => {
    expect((await register({ client_name: "n".repeat(MAX_CLIENT_NAME_CHARS) })).status).toBe(201);
    await expectRefused({ client_name: "n".repeat(MAX_CLIENT_NAME_CHARS + 1) }, "client_name");
    const uris = (count: number) => Array.from({ length: count }, (_, i) => `http://127.0.0.1/callback${i}`);
    expect((await register({ redirect_uris: uris(MAX_REDIRECT_URIS) })).status).toBe(201);
    await expectRefused({ redirect_uris: uris(MAX_REDIRECT_URIS + 1) }, "redirect_uris");
  });

  it("refuses control and bidirectional formatting characters in any field", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ client_name: "evil\u0000client" }, "client_name"],
      [{ client_name: "line\nbreak" }, "client_name"],
      [{ client_name: "Evil \u202eppA" }, "client_name"],
      [{ client_name: "\u2067Bank\u2069" }, "client_name"],
      [{ client_name: "mark\u200fhere" }, "client_name"],
      [{ client_uri: "https://example.com/\u202eabout" }, "client_uri"],
      [{ contacts: ["ok@example.com", "bad\u0085@example.com"] }, "contacts[1]"],
    ];
    for (const [body, field] of cases) await expectRefused(body, field);
    // Ordinary non-ASCII names are fine.
    expect((await register({ client_name: "Café Ünïcødé 日本語 🙂" })).status).toBe(201);
  });
});
