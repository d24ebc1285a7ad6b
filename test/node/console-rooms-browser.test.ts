import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import type { BrowserContext, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { review, signUp as signUpAs, useBrowserStack } from "./browser-support";

/**
 * The console's rooms (usage, billing, data) as people use them: Chromium on
 * a local stack with the fake Stripe, an agent writing through the MCP SDK's
 * client, and every page checked with axe and photographed in both colour
 * schemes under .muninn/screenshots/.
 */
const env = useBrowserStack();
const signUp = (context: BrowserContext, tag: string) => signUpAs(env.stack, context, tag);

/** An agent's key, made on the connect page. */
async function agentKey(page: Page): Promise<string> {
  await page.goto(`${env.stack.info.baseUrl}/app/connect`);
  await page.getByRole("button", { name: "Create a key for this client" }).first().click();
  const setup = (await page.locator("#setup-created").textContent()) ?? "";
  const key = /Bearer (mk_[A-Za-z0-9_]+)/.exec(setup)?.[1];
  if (!key) throw new Error("no key on the connect page");
  return key;
}

async function agent(key: string): Promise<Client> {
  const client = new Client({ name: "rooms-test-agent", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${env.stack.info.baseUrl}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${key}` } },
    }),
  );
  return client;
}

/** Memory records of one of our JSONL exports. */
const memoryLines = (jsonl: string) =>
  jsonl
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { type?: string })
    .filter((record) => record.type === "memory").length;

describe("the console's rooms in a real browser", () => {
  it("usage shows the calls just made; Upgrade → fake checkout → Pay → back on billing with pro and its limits", async () => {
    const base = env.stack.info.baseUrl;
    const context = await env.browser.newContext();
    try {
      const { page } = await signUp(context, "rooms");
      const client = await agent(await agentKey(page));
      for (const content of ["Deploys go out on Tuesdays", "The API speaks JSON", "Ada reviews migrations"]) {
        const answer = await client.callTool({ name: "remember", arguments: { content, kind: "fact" } });
        expect(answer.isError ?? false).toBe(false);
      }
      await client.close();

      await page.goto(`${base}/app/usage`);
      const today = new Date().toISOString().slice(0, 10);
      const bar = page.locator(`#chart-tools rect[data-day="${today}"][data-series="remember"]`);
      expect(await bar.getAttribute("data-value")).toBe("3");
      await page.getByText("Table: tool calls by tool").click();
      const row = page.locator("#chart-tools-table tbody tr", { hasText: today });
      expect(await row.locator("td").allTextContents()).toEqual(["3"]);
      expect(await page.getByRole("img", { name: /Tool calls by tool/ }).count()).toBe(1);
      // The month's figures come from the tenant's object, which admission leases reach within a lease
      // lifetime (1 s, docs/rate-limits.md): reload until they have, for at most a few lifetimes.
      const toolCalls = page.locator(".stats li", { hasText: "Tool calls" }).first();
      for (let tries = 0; !(await toolCalls.textContent())?.includes("3 of 10,000") && tries < 10; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        await page.reload();
      }
      expect(await toolCalls.textContent()).toContain("3 of 10,000");
      expect(await page.locator(".stats li", { hasText: "Memories stored" }).textContent()).toContain("3");
      await review(page, "usage");

      await page.getByRole("link", { name: "Billing", exact: true }).click();
      await page.waitForURL(`${base}/app/billing`);
      expect(await page.locator(".plan-name").textContent()).toBe("free");
      await review(page, "billing");
      await page.getByRole("button", { name: "Upgrade to pro" }).click();
      await page.waitForURL(/\/checkout\/cs_/);
      expect(await page.locator(".price").textContent()).toBe("$19.00");
      await review(page, "fake-stripe-checkout");
      await page.getByRole("button", { name: /^Pay \$19\.00/ }).click();
      await page.getByRole("heading", { name: "Payment complete" }).waitFor();
      await page.getByRole("link", { name: "Continue" }).click();
      await page.waitForURL(`${base}/app/billing?checkout=success`);
      expect(await page.locator(".plan-name").textContent()).toBe("pro");
      const current = page.locator("section.card", { has: page.locator("#plan-heading") });
      expect(await current.textContent()).toContain("300 a minute");
      expect(await current.textContent()).toContain("100,000 a month");
      expect(await page.getByRole("status").first().textContent()).toContain("you are on the pro plan");
      await review(page, "billing-pro");

      await page.getByRole("button", { name: "Manage billing" }).click();
      await page.getByRole("heading", { name: "Billing portal" }).waitFor();
      expect(await page.locator("table").textContent()).toContain("$19.00 a month");
      await review(page, "fake-stripe-portal");
      await page.getByRole("link", { name: "Continue" }).click();
      await page.waitForURL(`${base}/app/billing`);
    } finally {
      await context.close();
    }
  }, 240_000);

  it("export downloads and re-imports into a second account with the same counts; delete after typing the name", async () => {
    const base = env.stack.info.baseUrl;
    const first = await env.browser.newContext();
    const second = await env.browser.newContext();
    try {
      const { page } = await signUp(first, "exporter");
      const client = await agent(await agentKey(page));
      for (const content of ["Alpha decision", "Beta learning", "Gamma fact", "Delta note"]) {
        await client.callTool({ name: "remember", arguments: { content, kind: "note" } });
      }
      await client.close();
      await page.goto(`${base}/app/data`);
      await review(page, "data");
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        page.getByRole("link", { name: "Download JSONL" }).click(),
      ]);
      const file = join(env.stateDir, download.suggestedFilename());
      await download.saveAs(file);
      const exported = await readFile(file, "utf8");
      expect(memoryLines(exported)).toBe(4);

      const other = await signUp(second, "importer");
      await other.page.goto(`${base}/app/data`);
      await other.page.getByLabel("File", { exact: true }).setInputFiles(file);
      // A lost upload is announced, and the form can be sent again.
      await other.page.route(`${base}/app/data/import`, (route) => route.abort(), { times: 1 });
      await other.page.getByRole("button", { name: "Import" }).click();
      await other.page.getByRole("alert").waitFor();
      expect(await other.page.getByRole("alert").textContent()).toContain("did not reach the server");
      expect(await other.page.getByRole("button", { name: "Import" }).isEnabled()).toBe(true);
      // With the script, the form is sent by XMLHttpRequest: record every state the progress bar and its
      // status line go through (the result replaces them), and hold the server's answer until the
      // progress shown has been reviewed.
      await other.page.evaluate(() => {
        const seen: string[] = [];
        (window as unknown as { seen: string[] }).seen = seen;
        const bar = document.getElementById("import-progress-bar") as HTMLProgressElement;
        const text = document.getElementById("import-progress-text") as HTMLElement;
        new MutationObserver(() => seen.push(`${bar.value}/${bar.max} ${text.textContent}`)).observe(text, {
          childList: true,
          characterData: true,
          subtree: true,
        });
      });
      let release = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      await other.page.route(`${base}/app/data/import`, async (route) => {
        await held;
        await route.continue();
      });
      await other.page.getByRole("button", { name: "Import" }).click();
      const progress = other.page.getByRole("progressbar", { name: "Upload progress" });
      await progress.waitFor();
      expect(await other.page.getByRole("button", { name: "Import" }).isDisabled()).toBe(true);
      await review(other.page, "data-importing");
      release();
      await other.page.getByRole("heading", { name: "Import finished" }).waitFor();
      const seen = await other.page.evaluate(() => (window as unknown as { seen: string[] }).seen);
      expect(seen[0]).toBe("0/100 Uploading… 0%");
      expect(seen).toContain("100/100 Importing…");
      expect(seen.every((state) => /^\d+\/100 (Uploading… \d+%|Importing…)$/.test(state))).toBe(true);
      // The page stays where it was; the result is the one the plain form shows, and focus is on it.
      expect(other.page.url()).toBe(`${base}/app/data`);
      expect(await other.page.evaluate(() => document.activeElement?.id)).toBe("import-result-heading");
      // The memories are created; records the new account already has (its default project) are skipped.
      expect(await other.page.locator("#import-result p[role=status]").textContent()).toMatch(
        /4 created, 0 updated, 0 unchanged, \d+ skipped, 0 failed/,
      );
      expect(await other.page.getByRole("progressbar").isVisible()).toBe(false);
      await review(other.page, "data-imported");
      await other.page.unroute(`${base}/app/data/import`);

      // Without JavaScript the same form posts as a plain form and answers with the same result page.
      const plain = await env.browser.newContext({
        javaScriptEnabled: false,
        storageState: await second.storageState(),
      });
      try {
        const page = await plain.newPage();
        await page.goto(`${base}/app/data`);
        expect(await page.locator("#import-progress").isVisible()).toBe(false);
        await page.getByLabel("File", { exact: true }).setInputFiles(file);
        await page.getByRole("button", { name: "Import" }).click();
        await page.getByRole("heading", { name: "Import finished" }).waitFor();
        expect(page.url()).toBe(`${base}/app/data/import`);
        // The same file again: nothing new is created.
        expect(await page.locator("#import-result p[role=status]").textContent()).toMatch(
          /0 created, 0 updated, \d+ unchanged, \d+ skipped, 0 failed/,
        );
      } finally {
        await plain.close();
      }
      const again = await other.page.request.get(`${base}/app/data/export?format=jsonl`);
      expect(memoryLines(await again.text())).toBe(4);

      await other.page.getByLabel(/Type the team name/).fill("not the name");
      await other.page.getByRole("button", { name: /Delete the account/ }).click();
      await other.page.getByRole("alert").waitFor();
      expect(await other.page.getByRole("alert").textContent()).toContain("nothing was deleted");
      await review(other.page, "data-delete-error");
      await other.page.getByLabel(/Type the team name/).fill(other.team);
      await other.page.getByRole("button", { name: /Delete the account/ }).click();
      await other.page.getByRole("heading", { name: "Account deleted" }).waitFor();
      await review(other.page, "account-deleted");
      await other.page.goto(`${base}/app/usage`);
      await other.page.waitForURL(/\/signin/);
    } finally {
      await first.close();
      await second.close();
    }
  }, 240_000);
});
