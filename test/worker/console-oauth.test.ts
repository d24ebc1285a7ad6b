import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { listAudit } from "../../shared/audit";
import { Browser as ConsoleBrowser, captureEmail, linkIn } from "./console-support";
import {
  Browser,
  connect,
  decide,
  exchangeCode,
  formAction,
  hidden,
  newAccount,
  newAuthorization,
  signIn,
} from "./oauth-support";
import { openMgmtDb, workerFetch } from "./support";

const mail = captureEmail();

afterEach(() => {
  vi.useRealTimers();
});

describe("OAuth consent", () => {
  it("grants the scope the consent page showed, not one widened in the POST's URL", async () => {
    const { account, clientId, url, verifier } = await newAuthorization({ scope: "mcp:read" });
    const browser = new Browser();
    const consent = await signIn(browser, url, account.email, account.password);
    const html = await consent.text();
    expect(html).toContain("<code>mcp:read</code>");
    expect(html).not.toContain("<code>keys:manage</code>");
    const widened = new URL(formAction(html));
    widened.searchParams.set("scope", "mcp:read keys:manage mcp:tools");
    const redirect = await browser.post(widened.toString(), {
      step: "consent",
      handle: hidden(html, "handle"),
      proof: hidden(html, "proof"),
      decision: "allow",
    });
    expect(redirect.status).toBe(302);
    const code = new URL(redirect.headers.get("location") ?? "").searchParams.get("code") ?? "";
    const token = await exchangeCode(clientId, code, "http://127.0.0.1:7777/callback", verifier);
    const tokens = (await token.json()) as { access_token: string; scope: string };
    expect(tokens.scope).toBe("mcp:read");
    const keys = await workerFetch("/api/keys", { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(keys.status).toBe(403);
  });

  it("keeps the page's CSP on the consent page (the library's headers do not loosen it) and audits the grant", async () => {
    const { account, url } = await newAuthorization({ clientName: "Audited Tool" });
    const browser = new Browser();
    const consent = await signIn(browser, url, account.email, account.password);
    const csp = consent.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    // Forms post here, and the consent's redirect may go on to the client's redirect URI only.
    expect(csp).toContain("form-action 'self' http://127.0.0.1:7777;");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(await consent.clone().text()).toContain('href="/app/apps"');
    expect((await decide(browser, consent, "allow")).status).toBe(302);
    const { entries } = await listAudit(openMgmtDb(), {
      tenantId: account.tenantId,
      action: "oauth_grant.create",
      limit: 10,
    });
    expect(entries).toHaveLength(1);
    expect(entries[0]?.after).toMatchObject({ clientName: "Audited Tool", scope: ["mcp:tools"] });
  });

  it("Create an account returns to consent with the OAuth request intact", async () => {
    const { url } = await newAuthorization({ state: "keep-me", clientName: "New Person Tool" });
    const browser = new ConsoleBrowser();
    const signInPage = await (await browser.fetch(url)).text();
    const link = /href="(\/signup\?next=[^"]+)"/.exec(signInPage)?.[1]?.replaceAll("&amp;", "&") ?? "";
    expect(link).not.toBe("");
    const signup = await browser.page(link);
    const next = hidden(signup.html, "next");
    expect(next).toBe(url.replace("http://localhost", ""));
    const email = `oauth-new-${crypto.randomUUID().slice(0, 8)}@example.test`;
    const answer = await browser.post("/signup", {
      csrf: signup.csrf,
      email,
      password: "a perfectly fine passphrase",
      team_name: "New",
      next,
    });
    expect(answer.status).toBe(200);
    const confirm = await browser.page(linkIn(await mail.next(email), "/verify"));
    const verified = await browser.post("/verify", { csrf: confirm.csrf, token: hidden(confirm.html, "token") });
    expect(verified.status).toBe(303);
    expect(verified.headers.get("location")).toBe(next);
    const consent = await browser.fetch(verified.headers.get("location") ?? "");
    expect(consent.status).toBe(200);
    const html = await consent.text();
    expect(html).toContain("Allow New Person Tool to use your Muninn memory?");
    expect(html).toContain(`Signed in as ${email}`);
    const redirect = await browser.post(formAction(html).replace("http://localhost", ""), {
      step: "consent",
      handle: hidden(html, "handle"),
      proof: hidden(html, "proof"),
      decision: "allow",
    });
    expect(redirect.status).toBe(302);
    const location = new URL(redirect.headers.get("location") ?? "");
    expect(location.searchParams.get("state")).toBe("keep-me");
    expect(location.searchParams.get("code")).toBeTruthy();
  });
});

describe("/app/apps", () => {
  async function consoleSignIn(email: string, password: string): Promise<ConsoleBrowser> {
    const browser = new ConsoleBrowser();
    const { csrf } = await browser.page("/signin");
    expect((await browser.post("/signin", { csrf, email, password })).status).toBe(303);
    return browser;
  }

  it("lists the account's grants, escaped, never another account's, and revokes one after confirmation", async () => {
    const owner = await newAccount();
    const other = await newAccount();
    const { tokens } = await connect(owner, { clientId: undefined });
    const mine = await consoleSignIn(owner.email, owner.password);
    const page = await mine.page("/app/apps");
    expect(page.html).toContain("Test Client");
    expect(page.html).toContain("127.0.0.1:7777");
    const grantId = /\/app\/apps\/([^/"]+)\/revoke/.exec(page.html)?.[1] ?? "";
    expect(grantId).not.toBe("");

    const theirs = await consoleSignIn(other.email, other.password);
    expect((await theirs.page("/app/apps")).html).not.toContain(grantId);
    expect((await theirs.fetch(`/app/apps/${grantId}/revoke`)).status).toBe(404);
    await theirs.post(`/app/apps/${grantId}/revoke`, { csrf: (await theirs.page("/app/apps")).csrf });
    const still = await workerFetch("/api/me", { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(still.status).toBe(200);

    const confirm = await mine.page(`/app/apps/${grantId}/revoke`);
    expect(confirm.html).toContain("Revoke access");
    expect((await mine.post(`/app/apps/${grantId}/revoke`, {})).status).toBe(403);
    expect((await mine.post(`/app/apps/${grantId}/revoke`, { csrf: confirm.csrf })).status).toBe(303);
    const after = await workerFetch("/api/me", { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(after.status).toBe(401);
    expect((await mine.page("/app/apps")).html).not.toContain(grantId);
  });

  it("shows when each app last used its access, recorded at most once a minute", async () => {
    const owner = await newAccount();
    const { tokens } = await connect(owner, { clientId: undefined });
    const mine = await consoleSignIn(owner.email, owner.password);
    const lastUsedCell = (html: string) => {
      const row = /<tbody>\s*<tr>(.*?)<\/tr>/s.exec(html)?.[1] ?? "";
      return [...row.matchAll(/<td>(.*?)<\/td>/gs)].map((cell) => cell[1])[4];
    };
    expect((await mine.page("/app/apps")).html).toContain("Last used (UTC)");
    expect(lastUsedCell((await mine.page("/app/apps")).html)).toBe("—");
    const before = new Date().toISOString().replace("T", " ").slice(0, 16);
    const used = await workerFetch("/api/me", { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(used.status).toBe(200);
    // Recorded after the answer (waitUntil): the page shows it once the write lands.
    let shown: string | undefined;
    for (let tries = 0; tries < 50 && (shown === undefined || shown === "—"); tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      shown = lastUsedCell((await mine.page("/app/apps")).html);
    }
    expect(shown).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
    expect((shown ?? "") >= before).toBe(true);
    // At most one write a minute per grant: a second use now leaves the recorded time alone, one a minute later moves it.
    const grantId = /\/app\/apps\/([^/"]+)\/revoke/.exec((await mine.page("/app/apps")).html)?.[1] ?? "";
    const recorded = await env.OAUTH_KV.get(`grant-last-used:${grantId}`);
    expect(recorded).not.toBeNull();
    const use = () => workerFetch("/api/me", { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect((await use()).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await env.OAUTH_KV.get(`grant-last-used:${grantId}`)).toBe(recorded);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.parse(recorded ?? "") + 61_000);
    expect((await use()).status).toBe(200);
    vi.useRealTimers();
    let moved: string | null = recorded;
    for (let tries = 0; tries < 50 && moved === recorded; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      moved = await env.OAUTH_KV.get(`grant-last-used:${grantId}`);
    }
    expect(Date.parse(moved ?? "")).toBeGreaterThanOrEqual(Date.parse(recorded ?? "") + 61_000);
  });
});
