import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { linkIn, newEmail, PASSWORD, review as reviewPage, useBrowserStack } from "./browser-support";

/**
 * A team as its people use it: two browsers on a local stack, the owner in
 * one and the invited people in the other, invitations read from the
 * stack's outbox, and an agent (the MCP SDK's client) with a member's key.
 * Pages are checked with axe and photographed in both colour schemes under
 * .muninn/screenshots/.
 */
const env = useBrowserStack();

const review = (page: Parameters<typeof reviewPage>[0], name: string) => reviewPage(page, name, "team");

/** An account made through the API (201 with its key), its address then confirmed through the link in its message. */
async function apiSignup(email: string, team: string) {
  const base = env.stack.info.baseUrl;
  const response = await fetch(`${base}/api/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD, org_name: team }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { tenant: { id: string }; api_key: string };
}

function admin(path: string, method: string, body: unknown) {
  return fetch(`${env.stack.info.baseUrl}/api/tenants/${path}`, {
    method,
    headers: { authorization: `Bearer ${env.stack.info.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** An agent (the MCP SDK's client, named "team-agent" 2.1) with this key, for the length of `use`. */
async function withAgent<T>(key: string, use: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ name: "team-agent", version: "2.1" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${env.stack.info.baseUrl}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${key}` } },
    }),
  );
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

const mcpCall = (key: string, name: string, args: Record<string, unknown>) =>
  withAgent(key, (client) => client.callTool({ name, arguments: args }));

/** The key the Connect page makes for the signed-in person, shown once. */
async function connectKey(page: Page): Promise<string> {
  await page.getByRole("link", { name: "Connect" }).click();
  await page
    .getByRole("button", { name: /Create a key for this client/ })
    .first()
    .click();
  const setup = (await page.locator("#setup-created").textContent()) ?? "";
  const key = /Bearer (mk_[A-Za-z0-9]+)/.exec(setup)?.[1] ?? "";
  expect(key).toMatch(/^mk_/);
  return key;
}

describe("a team in two browsers", () => {
  it("the owner invites ada and vic; ada signs up from her link, vic accepts with his account; roles show; removing ada stops her key", async () => {
    const base = env.stack.info.baseUrl;
    const ownerEmail = newEmail("owner");
    const adaEmail = newEmail("ada");
    const vicEmail = newEmail("vic");
    const owner = await apiSignup(ownerEmail, "Analytical Engines");
    expect((await admin(owner.tenant.id, "PATCH", { plan: "team" })).status).toBe(200);
    await apiSignup(vicEmail, "Vic's own");
    expect((await env.stack.outbox.next(vicEmail, 60_000)).subject).toBe("Confirm your email for Muninn");

    const ownerContext = await env.browser.newContext();
    const peopleContext = await env.browser.newContext();
    try {
      // The owner confirms their address (which signs them in) and invites from the team page.
      const ownerPage = await ownerContext.newPage();
      await ownerPage.goto(linkIn((await env.stack.outbox.next(ownerEmail, 60_000)).text, "/verify"));
      await ownerPage.getByRole("button", { name: "Confirm email" }).click();
      await ownerPage.waitForURL(/\/app\/connect/);
      await ownerPage.getByRole("link", { name: "Team" }).click();
      await ownerPage.waitForURL(`${base}/app/team`);
      await review(ownerPage, "owner");
      for (const [email, role] of [
        [adaEmail, "member"],
        [vicEmail, "viewer"],
      ] as const) {
        await ownerPage.getByLabel("Email").fill(email);
        await ownerPage.getByLabel("Role", { exact: true }).selectOption(role);
        await ownerPage.getByRole("button", { name: "Send invitation" }).click();
        await ownerPage.getByText("Invitation sent.").waitFor();
      }
      await review(ownerPage, "pending");

      // Ada has no account: her link opens a signup with her address filled in.
      const adaMessage = await env.stack.outbox.next(adaEmail, 60_000);
      expect(adaMessage.subject).toContain("invited you to Analytical Engines");
      const people = await peopleContext.newPage();
      await people.goto(linkIn(adaMessage.text, "/invite"));
      await review(people, "invite-signup");
      expect(await people.getByLabel("Email").inputValue()).toBe(adaEmail);
      await people.getByLabel("Your name").fill("Ada");
      await people.getByLabel("Password").fill(PASSWORD);
      await people.getByRole("button", { name: "Create account and join" }).click();
      await people.waitForURL(`${base}/app/team?done=joined`);
      expect(await people.getByRole("heading", { level: 1 }).textContent()).toBe("Team Analytical Engines");
      await review(people, "member");
      const adaKey = await connectKey(people);
      const remembered = await mcpCall(adaKey, "remember", { content: "Ada's note on the engine", kind: "note" });
      expect(remembered.isError ?? false).toBe(false);
      await people.getByRole("button", { name: "Sign out" }).click();

      // Vic has an account: he signs in from his link and joins; the console shows the team.
      const vicMessage = await env.stack.outbox.next(vicEmail, 60_000);
      await people.goto(linkIn(vicMessage.text, "/invite"));
      await people.getByRole("link", { name: "Sign in" }).last().click();
      await people.getByLabel("Email").fill(vicEmail);
      await people.getByLabel("Password").fill(PASSWORD);
      await people.getByRole("button", { name: "Sign in" }).click();
      await people.getByRole("button", { name: "Join Analytical Engines" }).click();
      await people.waitForURL(`${base}/app/team?done=joined`);
      expect(await people.locator("main p").first().textContent()).toContain("viewer");
      await review(people, "viewer");

      // Vic's agent sees only the read tools, finds Ada's memory, and its write is refused.
      const vicKey = await connectKey(people);
      await withAgent(vicKey, async (agent) => {
        const tools = (await agent.listTools()).tools.map((tool) => tool.name);
        expect(tools).toContain("recall");
        expect(tools).not.toContain("remember");
        const found = await agent.callTool({ name: "recall", arguments: { query: "engine note" } });
        expect(JSON.stringify(found.content)).toContain("Ada's note on the engine");
        const refused = await agent
          .callTool({ name: "remember", arguments: { content: "Vic tries to write", kind: "note" } })
          .then(
            (answer) => answer.isError === true,
            () => true,
          );
        expect(refused).toBe(true);
      });

      // The owner's memories room says who wrote Ada's memory and through which client; Vic wrote nothing.
      await ownerPage.goto(`${base}/app/memories`);
      const list = (await ownerPage.locator("#memory-list").textContent()) ?? "";
      expect(list).toContain("by Ada via team-agent 2.1");
      expect(list).not.toContain("Vic tries to write");
      await review(ownerPage, "memories");

      // The owner sees both, with their roles.
      await ownerPage.goto(`${base}/app/team`);
      const rows = await ownerPage.locator("tbody tr").allTextContents();
      expect(rows.some((row) => row.includes("Ada") && row.includes("member"))).toBe(true);
      expect(rows.some((row) => row.includes(vicEmail) && row.includes("viewer"))).toBe(true);

      // Beyond the seats (the operator sets 3), an invitation is refused with the reason.
      expect((await admin(`${owner.tenant.id}/seats`, "PUT", { seat_override: 3 })).status).toBe(200);
      await ownerPage.getByLabel("Email").fill(newEmail("fourth"));
      await ownerPage.getByRole("button", { name: "Send invitation" }).click();
      expect(await ownerPage.getByRole("alert").textContent()).toContain("seats");

      // Removing Ada: her key answers 401 on the next request.
      await ownerPage.goto(`${base}/app/team`);
      await ownerPage.getByRole("link", { name: "Remove Ada" }).click();
      await review(ownerPage, "remove");
      await ownerPage.getByRole("button", { name: "Remove from the team" }).click();
      await ownerPage.getByText("Member removed").waitFor();
      const after = await fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${adaKey}` } });
      expect(after.status).toBe(401);
    } finally {
      await ownerContext.close();
      await peopleContext.close();
    }
  }, 240_000);
});
