import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  auth,
  Client,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  StreamableHTTPClientTransport,
} from "@modelcontextprotocol/client";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser } from "../../tools/browser";
import { freePort } from "../../tools/free-port";
import { type LocalStack, repoRoot, startLocalStack } from "../../tools/local-stack";
import { registerPublicClient, signInAndDecide as signInAs } from "../../tools/oauth-test-client";

/**
 * The OAuth flow as people meet it: Chromium (tools/browser.ts, driven by
 * playwright-core) on the real sign-in and consent pages of a local stack
 * (wrangler dev + local libSQL), and the MCP SDK's own OAuth client doing
 * discovery, registration, PKCE and the token exchange. One screenshot of
 * each page is kept under .muninn/screenshots/ for a person to look at.
 */
const SCREENSHOTS = join(repoRoot, ".muninn", "screenshots");
const PASSWORD = "a perfectly fine passphrase";

let stack: LocalStack;
let browser: Browser;
let stateDir: string;
let account: { email: string; apiKey: string };

/** A loopback redirect target that records where the browser was sent. */
async function callbackServer(): Promise<{ url: string; next(): Promise<URL>; close(): Promise<void> }> {
  const waiting: ((url: URL) => void)[] = [];
  const arrived: URL[] = [];
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    // Browsers also ask for /favicon.ico; only the redirect itself is the client's answer.
    if (url.pathname !== "/callback") {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "content-type": "text/plain" }).end("You can close this window.");
    const waiter = waiting.shift();
    if (waiter) waiter(url);
    else arrived.push(url);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/callback`,
    next: () => {
      const ready = arrived.shift();
      return ready ? Promise.resolve(ready) : new Promise((resolve) => waiting.push(resolve));
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function signInAndDecide(page: Page, url: string, decision: "Allow" | "Deny", shots = false) {
  return signInAs(page, url, {
    email: account.email,
    password: PASSWORD,
    decision,
    onPage: shots
      ? async (shown, name) => {
          await shown.screenshot({ path: join(SCREENSHOTS, `oauth-${name}.png`), fullPage: true });
        }
      : undefined,
  });
}

beforeAll(async () => {
  await mkdir(SCREENSHOTS, { recursive: true, mode: 0o700 }); // .muninn/ is owner-only
  stateDir = await mkdtemp(join(tmpdir(), "muninn-oauth-"));
  stack = await startLocalStack({ port: await freePort(), libsqlPort: await freePort(), stateDir });
  const email = `browser-${Date.now()}@example.test`;
  const signup = await fetch(`${stack.info.baseUrl}/api/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD, org_name: "Browser Test" }),
  });
  expect(signup.status).toBe(201);
  account = { email, apiKey: ((await signup.json()) as { api_key: { key: string } }).api_key.key };
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await rm(stateDir, { recursive: true, force: true });
});

describe("OAuth in a real browser", () => {
  it("registers, signs in (a wrong password shows the error), consents, exchanges the code and lists tools", async () => {
    const base = stack.info.baseUrl;
    const callback = await callbackServer();
    const client_id = await registerPublicClient(base, "Browser Test Client", callback.url);
    const verifier = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
    const challenge = Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))).toString(
      "base64url",
    );
    const authorizeUrl = `${base}/authorize?${new URLSearchParams({
      response_type: "code",
      client_id,
      redirect_uri: callback.url,
      state: "browser-state",
      code_challenge: challenge,
      code_challenge_method: "S256",
      scope: "mcp:tools",
      resource: `${base}/mcp`,
    })}`;

    const page = await browser.newPage();
    try {
      await page.goto(authorizeUrl);
      await page.getByLabel("Email").fill(account.email);
      await page.getByLabel("Password").fill("this is not it at all");
      await page.getByRole("button", { name: "Sign in" }).click();
      const alert = page.getByRole("alert");
      await alert.waitFor();
      expect(await alert.textContent()).toContain("Wrong email or password.");
      await page.screenshot({ path: join(SCREENSHOTS, "oauth-wrong-password.png"), fullPage: true });

      await signInAndDecide(page, authorizeUrl, "Allow", true);
      const redirected = await callback.next();
      expect(redirected.searchParams.get("state")).toBe("browser-state");
      const code = redirected.searchParams.get("code") ?? "";
      const token = await fetch(`${base}/oauth/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "authorization_code",
          code,
          redirect_uri: callback.url,
          client_id,
          code_verifier: verifier,
          resource: `${base}/mcp`,
        }),
      });
      expect(token.status).toBe(200);
      const { access_token } = (await token.json()) as { access_token: string };
      const listed = await fetch(`${base}/mcp`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${access_token}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: {
            protocolVersion: "2025-11-25",
            capabilities: {},
            clientInfo: { name: "browser-test", version: "1" },
          },
        }),
      });
      expect(listed.status).toBe(200);

      // Deny: the client hears access_denied.
      await signInAndDecide(page, authorizeUrl.replace("browser-state", "deny-state"), "Deny");
      const denied = await callback.next();
      expect(denied.searchParams.get("error")).toBe("access_denied");
      expect(denied.searchParams.get("state")).toBe("deny-state");
    } finally {
      await page.close();
      await callback.close();
    }
  }, 120_000);

  it("the MCP SDK client's auth() completes discovery, registration, sign-in and the exchange, then lists tools", async () => {
    const base = stack.info.baseUrl;
    const serverUrl = new URL(`${base}/mcp`);
    const callback = await callbackServer();
    const page = await browser.newPage();
    const store: {
      client?: Awaited<ReturnType<OAuthClientProvider["clientInformation"]>>;
      tokens?: Awaited<ReturnType<OAuthClientProvider["tokens"]>>;
      verifier?: string;
      discovery?: OAuthDiscoveryState;
    } = {};
    let browserStep: Promise<void> = Promise.resolve();
    const provider: OAuthClientProvider = {
      get redirectUrl() {
        return callback.url;
      },
      get clientMetadata() {
        return {
          client_name: "SDK Test Client",
          redirect_uris: [callback.url],
          grant_types: ["authorization_code", "refresh_token"],
          response_types: ["code"],
          token_endpoint_auth_method: "none",
        };
      },
      clientInformation: () => store.client,
      saveClientInformation: (info) => {
        store.client = info;
      },
      tokens: () => store.tokens,
      saveTokens: (tokens) => {
        store.tokens = tokens;
      },
      redirectToAuthorization: (url) => {
        // The person's part: sign in and allow, in the browser.
        browserStep = signInAndDecide(page, url.toString(), "Allow");
      },
      saveCodeVerifier: (verifier) => {
        store.verifier = verifier;
      },
      codeVerifier: () => {
        if (!store.verifier) throw new Error("no code verifier saved");
        return store.verifier;
      },
      saveDiscoveryState: (state) => {
        store.discovery = state;
      },
      discoveryState: () => store.discovery,
    };
    try {
      expect(await auth(provider, { serverUrl })).toBe("REDIRECT");
      await browserStep;
      const redirected = await callback.next();
      const result = await auth(provider, {
        serverUrl,
        authorizationCode: redirected.searchParams.get("code") ?? "",
        iss: redirected.searchParams.get("iss") ?? undefined,
      });
      expect(result).toBe("AUTHORIZED");
      // The provider's own token shape (user:grant:secret), never one of our `mk_` keys.
      expect(store.tokens?.access_token).toMatch(/^[^:]+:[^:]+:[^:]+$/);
      expect(store.tokens?.scope).toBe("mcp:tools");

      const client = new Client({ name: "sdk-oauth-test", version: "1.0.0" });
      await client.connect(new StreamableHTTPClientTransport(serverUrl, { authProvider: provider }));
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toContain("recall");
      await client.close();
    } finally {
      await page.close();
      await callback.close();
    }
  }, 120_000);
});
