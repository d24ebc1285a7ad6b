import type { Client } from "@modelcontextprotocol/client";
import { beforeAll, describe, expect, it } from "vitest";
import { callError, callOk, connect } from "./mcp-support";
import { type Hit, memoryTenant } from "./memory-tools-support";
import { newTenant } from "./support";

/** The tools around memories: issues, work sessions, links, projects, the session briefing, and isolation between tenants. */

let client: Client;
let remember: Awaited<ReturnType<typeof memoryTenant>>["remember"];
let tenantDb: Awaited<ReturnType<typeof memoryTenant>>["tenantDb"];

beforeAll(async () => {
  ({ client, remember, tenantDb } = await memoryTenant());
});

describe("issues, work sessions, links, projects and context", () => {
  it("briefs a new session with the last next steps, open issues and relevant memories", async () => {
    const project = "brief";
    await callOk(client, "session", { action: "start", project, goal: "Ship login" });
    await callOk(client, "session", {
      action: "end",
      project,
      outcome: "Half done",
      next_steps: ["Write the callback handler"],
      success: false,
    });
    const issue = await callOk<{ id: string }>(client, "track", {
      action: "add",
      project,
      title: "Token refresh races",
      severity: 4,
    });
    await remember({ content: "OAuth callback must verify state.", kind: "decision", importance: 5, project });

    const briefing = await callOk<{ markdown: string; open_issues: { id: string }[]; tokens: number }>(
      client,
      "context",
      { project, task: "oauth callback" },
    );
    expect(briefing.markdown).toContain("Write the callback handler");
    expect(briefing.markdown).toContain("OAuth callback must verify state.");
    expect(briefing.open_issues.map((item) => item.id)).toEqual([issue.id]);

    await callOk(client, "track", { action: "resolve", id: issue.id, resolution: "Serialized refreshes" });
    expect(await callOk(client, "track", { action: "list", project })).toMatchObject({ issues: [] });
    const tiny = await callOk<{ tokens: number; truncated: boolean }>(client, "context", { project, max_tokens: 100 });
    expect(tiny.tokens).toBeLessThanOrEqual(100);
  });

  it("links memories and shows the link on both", async () => {
    const a = (await remember({ content: "Link source", project: "links" })).results[0]!.id;
    const b = (await remember({ content: "Link target", project: "links" })).results[0]!.id;
    expect(await callOk(client, "link", { from_id: a, to_id: b, relation: "depends_on" })).toMatchObject({
      created: true,
    });
    const got = await callOk<{ memories: { links: { relation: string }[] }[] }>(client, "get", { ids: [a, b] });
    expect(got.memories.map((memory) => memory.links[0]?.relation)).toEqual(["depends_on", "depends_on"]);
    expect(await callError(client, "link", { from_id: a, to_id: "m_nope", relation: "relates_to" })).toMatch(/to_id/);
  });

  it("lists, creates and renames projects", async () => {
    await remember({ content: "Belongs to alpha", project: "alpha" });
    await callOk(client, "projects", { action: "create", project: "beta" });
    expect(await callOk(client, "projects", { action: "rename", project: "alpha", new_slug: "gamma" })).toMatchObject({
      moved: 1,
    });
    const listed = await callOk<{ projects: { slug: string; memories: number }[] }>(client, "projects", {});
    const slugs = listed.projects.map((project) => project.slug);
    expect(slugs).toContain("beta");
    expect(slugs).toContain("gamma");
    expect(slugs).not.toContain("alpha");
    expect(listed.projects.find((project) => project.slug === "gamma")?.memories).toBe(1);
  });

  it("refuses to rename onto an existing project or from a missing one, and moves nothing", async () => {
    await remember({ content: "Belongs to delta", project: "delta" });
    await remember({ content: "Belongs to epsilon", project: "epsilon" });
    expect(await callError(client, "projects", { action: "rename", project: "delta", new_slug: "epsilon" })).toMatch(
      /new_slug: project epsilon already exists/,
    );
    expect(await callError(client, "projects", { action: "rename", project: "zeta", new_slug: "eta" })).toMatch(
      /project: no project zeta/,
    );
    const [memories, sessions, projects] = await (await tenantDb()).batch(
      [
        {
          sql: "SELECT project, COUNT(*) AS n FROM memories WHERE project IN ('delta', 'epsilon', 'eta') GROUP BY project ORDER BY project",
        },
        { sql: "SELECT COUNT(*) AS n FROM work_sessions WHERE project IN ('eta', 'zeta')" },
        { sql: "SELECT slug FROM projects WHERE slug IN ('delta', 'epsilon', 'eta', 'zeta') ORDER BY slug" },
      ],
      "read",
    );
    expect(memories?.rows.map((row) => [row.project, row.n])).toEqual([
      ["delta", 1],
      ["epsilon", 1],
    ]);
    expect(sessions?.rows[0]?.n).toBe(0);
    expect(projects?.rows.map((row) => row.slug)).toEqual(["delta", "epsilon"]);
  });
});

describe("tenant isolation", () => {
  it("never lets one tenant read or change another's memories", async () => {
    const other = await newTenant();
    const intruder = await connect(other.apiKey.key, "legacy");
    const secret = (await remember({ content: "Tenant secret: the vault code", project: "default" })).results[0]!.id;
    expect(await callOk(intruder, "get", { ids: [secret] })).toMatchObject({ memories: [], not_found: [secret] });
    expect(
      (await callOk<{ results: Hit[] }>(intruder, "recall", { query: "vault code", all_projects: true })).results,
    ).toEqual([]);
    expect(await callOk(intruder, "forget", { ids: [secret], hard: true })).toMatchObject({ forgotten: [] });
    expect(await callError(intruder, "update", { id: secret, content: "pwned" })).toMatch(/no memory/);
    const mine = await callOk<{ memories: { content: string }[] }>(client, "get", { ids: [secret] });
    expect(mine.memories[0]!.content).toBe("Tenant secret: the vault code");
  });
});
