import { join } from "node:path";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import type { Locator, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { review, SCREENSHOTS, signUp, useBrowserStack } from "./browser-support";

/**
 * The memories room as an owner uses it: an agent (the MCP SDK's client with
 * one of the owner's keys) saves memories, and the owner finds, searches,
 * edits, forgets and restores them in Chromium — list, search and edit with
 * the keyboard alone — and watches one arrive live. Every page is checked
 * with axe and photographed in both colour schemes under .muninn/screenshots/.
 */
const env = useBrowserStack();

/** Press Tab until `target` has the focus, as a keyboard user would; fails if it never does. */
async function tabTo(page: Page, target: Locator, limit = 80): Promise<void> {
  const handle = await target.elementHandle();
  for (let presses = 0; presses < limit; presses++) {
    if (await page.evaluate((element) => document.activeElement === element, handle)) return;
    await page.keyboard.press("Tab");
  }
  throw new Error(`Tab never reached ${target}`);
}

async function agentOf(page: Page): Promise<Client> {
  await page.goto(`${env.stack.info.baseUrl}/app/connect`);
  await page.getByRole("button", { name: "Create a key for this client" }).first().click();
  const key = /Bearer (mk_[A-Za-z0-9_]+)/.exec((await page.locator("#setup-created").textContent()) ?? "")?.[1];
  if (!key) throw new Error("no key on the connect page");
  const client = new Client({ name: "claude-code", version: "2.1.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${env.stack.info.baseUrl}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${key}` } },
    }),
  );
  return client;
}

async function call<T>(client: Client, name: string, args: Record<string, unknown>): Promise<T> {
  const answer = await client.callTool({ name, arguments: args });
  expect(answer.isError ?? false, JSON.stringify(answer.content)).toBe(false);
  return answer.structuredContent as T;
}

type Recalled = { results: { id: string; snippet: string }[] };

describe("the memories room in a real browser", () => {
  it("an owner finds, searches, edits, forgets and restores what an agent saved, and sees a new one arrive", async () => {
    const base = env.stack.info.baseUrl;
    const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const { page } = await signUp(env.stack, context, "memories");
      const agent = await agentOf(page);
      const memories = [
        {
          title: "Ledger database",
          content: "We chose Postgres for the billing ledger: row locks for transfers.",
          kind: "decision",
          project: "billing",
          tags: ["storage"],
        },
        {
          title: "Deploy day",
          content: "Deploys go out on Tuesdays after the on-call handover.",
          kind: "fact",
          project: "ops",
          tags: ["deploy"],
        },
        {
          title: "Flaky ARM cache",
          content: "The CI cache is flaky on ARM runners; pin the cache key to the lockfile hash.",
          kind: "learning",
          project: "ops",
        },
      ];
      const ids: string[] = [];
      for (const memory of memories) {
        ids.push((await call<{ results: { id: string }[] }>(agent, "remember", memory)).results[0]?.id ?? "");
      }
      const [ledger] = ids;

      await page.getByRole("link", { name: "Memories", exact: true }).click();
      await page.waitForURL(`${base}/app/memories`);
      for (const memory of memories) await page.getByRole("link", { name: memory.title }).waitFor();
      expect(await page.locator("#memory-list li").count()).toBe(3);
      // The key belongs to the owner, a member of the team: named first, then the client and the key.
      expect(await page.locator("#memory-list").textContent()).toMatch(
        /by memories-[0-9-]+ via claude-code 2\.1\.0 \(key “Claude Code”\)/,
      );
      await review(page, "memories");

      // Search with the keyboard alone: to the field, type, Enter; open the reasons with Enter.
      await tabTo(page, page.getByRole("searchbox", { name: "Search" }));
      await page.keyboard.type("postgres ledger");
      await page.keyboard.press("Enter");
      await page.waitForURL(/q=postgres/);
      const hit = page.locator("ol.hits li").first();
      expect(await hit.locator(".memory-title").textContent()).toBe("Ledger database");
      await tabTo(page, hit.locator("summary"));
      await page.keyboard.press("Enter");
      const why = hit.locator("details.why dl");
      await why.waitFor();
      expect(await why.textContent()).toContain("Matched wordspostgres, ledger");
      expect(await why.textContent()).toMatch(/signals: text[0-9.]+/);
      await review(page, "memories-search");

      // Edit with the keyboard alone: follow the hit, to the content, replace it, to Save, Enter.
      await tabTo(page, hit.locator(".memory-title"));
      await page.keyboard.press("Enter");
      await page.waitForURL(`${base}/app/memories/${ledger}`);
      await tabTo(page, page.getByRole("textbox", { name: "Content" }));
      await page.keyboard.press("ControlOrMeta+A");
      await page.keyboard.type("We chose SQLite for the billing ledger: one file per tenant.");
      await tabTo(page, page.getByRole("button", { name: "Save as a new version" }));
      await page.keyboard.press("Enter");
      await page.waitForURL(/done=edited/);
      expect(await page.getByRole("status").first().textContent()).toContain("saved as a new version");
      const history = page.locator("ol.history > li");
      expect(await history.count()).toBe(2);
      expect(await history.nth(1).textContent()).toContain("We chose Postgres for the billing ledger");
      await review(page, "memory");
      const recalled = await call<Recalled>(agent, "recall", { query: "billing ledger", all_projects: true });
      const found = recalled.results.filter((result) => result.id === ledger);
      expect(found).toHaveLength(1);
      expect(found[0]?.snippet).toContain("SQLite");
      expect(JSON.stringify(recalled)).not.toContain("Postgres");

      // Forget: gone from recall; restore brings it back.
      await page.getByRole("button", { name: "Forget" }).click();
      await page.waitForURL(/done=forgotten/);
      const gone = await call<Recalled>(agent, "recall", { query: "billing ledger", all_projects: true });
      expect(gone.results.map((result) => result.id)).not.toContain(ledger);
      await review(page, "memory-forgotten");
      await page.getByRole("button", { name: "Restore" }).click();
      await page.waitForURL(/done=restored/);
      const back = await call<Recalled>(agent, "recall", { query: "billing ledger", all_projects: true });
      expect(back.results.map((result) => result.id)).toContain(ledger);

      // Live: a memory the agent saves while the list is open appears without a reload.
      await page.goto(`${base}/app/memories`);
      await page.locator("[data-live]").waitFor();
      await call(agent, "remember", {
        title: "Live arrival",
        content: "Saved while the page was open.",
        project: "ops",
      });
      await page.locator("#memory-list li", { hasText: "Live arrival" }).waitFor({ timeout: 20_000 });
      expect(await page.locator("[data-live]").textContent()).toContain("1 new memory just arrived");
      expect(await page.locator("#memory-list li").count()).toBe(4);
      // The owner chooses the name the team sees: the memories say it from then on (the README's picture).
      await page.getByRole("link", { name: "Settings", exact: true }).click();
      await page.getByRole("textbox", { name: "Name" }).fill("Ada Lovelace");
      await page.getByRole("button", { name: "Save name" }).click();
      await page.waitForURL(/changed=name/);
      expect(await page.getByRole("status").first().textContent()).toContain("Your name was saved");
      await review(page, "settings-name");
      await page.goto(`${base}/app/memories`);
      expect(await page.locator("#memory-list").textContent()).toContain(
        "by Ada Lovelace via claude-code 2.1.0 (key “Claude Code”)",
      );
      await page.screenshot({ path: join(SCREENSHOTS, "memories-readme.png") });

      await call(agent, "track", { action: "add", title: "Export times out over 50k memories", severity: 4 });
      await page.getByRole("link", { name: "Issues", exact: true }).click();
      await page.getByRole("link", { name: "Export times out over 50k memories" }).waitFor();
      await review(page, "memories-issues");
      await agent.close();
    } finally {
      await context.close();
    }
  }, 300_000);
});
