import type { Client } from "@modelcontextprotocol/client";
import { beforeAll, describe, expect, it } from "vitest";
import { callOk, connect } from "./mcp-support";
import { newTenant } from "./support";

interface Hit {
  id: string;
  project: string;
  relevance: number;
  explain?: { signals: Record<string, number> };
}
interface Recalled {
  results: Hit[];
  note?: string;
}

let client: Client;
const ids = new Map<string, string>();

/** The same subject in three projects; the web app's memory matches the query less well than the others. */
const MEMORIES: [key: string, project: string, content: string][] = [
  ["web", "web-app", "Deploys of the web app go through the CI pipeline."],
  ["infra", "infra", "Deploy rollback procedure: redeploy the previous image, then run the rollback migration."],
  ["mobile", "mobile", "Mobile deploy rollback: pull the release from the store and ship the previous build."],
  ["other", "web-app", "The web app's colours follow the brand guide."],
];

beforeAll(async () => {
  const { apiKey } = await newTenant("pro");
  client = await connect(apiKey.key, "modern");
  for (const [key, project, content] of MEMORIES) {
    const saved = await callOk<{ results: { id: string }[] }>(client, "remember", { content, project });
    ids.set(key, saved.results[0]?.id ?? "");
  }
}, 60_000);

const recall = (args: Record<string, unknown>) => callOk<Recalled>(client, "recall", args);
const keysOf = (hits: Hit[]) => hits.map((hit) => [...ids].find(([, id]) => id === hit.id)?.[0]);

describe("recall across projects", () => {
  it("without project finds memories in every project, each naming its project", async () => {
    const found = await recall({ query: "deploy rollback" });
    expect(new Set(keysOf(found.results))).toEqual(new Set(["infra", "mobile", "web"]));
    for (const hit of found.results) {
      expect(hit.project).toBe(MEMORIES.find(([key]) => ids.get(key) === hit.id)?.[1]);
    }
    // Ranked by relevance alone when no current project is known: the weakest match comes last.
    expect(keysOf(found.results).at(-1)).toBe("web");
  });

  it("ranks the current project's memories first, and says so in explain", async () => {
    const found = await recall({ query: "deploy rollback", current_project: "web-app", explain: true });
    expect(keysOf(found.results)).toEqual(["web", expect.any(String), expect.any(String)]);
    expect(found.results.map((hit) => hit.explain?.signals.current_project)).toEqual([1, 0, 0]);
    // The current project's hits are scored over that project, as a search in it alone scores them.
    const alone = await recall({ query: "deploy rollback", project: "web-app" });
    const web = (hits: Hit[]) => hits.find((hit) => hit.id === ids.get("web"))?.relevance;
    expect(web(found.results)).toBeGreaterThan(0);
    expect(web(found.results)).toBe(web(alone.results));
  });

  it("takes the open work session's project as the current one, until the session ends", async () => {
    const session = await callOk<{ session: { id: string } }>(client, "session", {
      action: "start",
      project: "mobile",
      goal: "ship the release",
    });
    const during = await recall({ query: "deploy rollback" });
    expect(keysOf(during.results)[0]).toBe("mobile");
    // A project the caller names wins over the session's.
    const named = await recall({ query: "deploy rollback", current_project: "infra" });
    expect(keysOf(named.results)[0]).toBe("infra");
    await callOk(client, "session", { action: "end", id: session.session.id, outcome: "shipped" });
    const after = await recall({ query: "deploy rollback", explain: true });
    expect(after.results.every((hit) => hit.explain?.signals.current_project === undefined)).toBe(true);
  });

  it("with project searches that project only, as before", async () => {
    const found = await recall({ query: "deploy rollback", project: "web-app" });
    expect(keysOf(found.results)).toEqual(["web"]);
    expect(found.results.every((hit) => hit.project === "web-app")).toBe(true);
  });

  it("finds a small current project's memories even when other projects hold many better matches", async () => {
    const crowd = Array.from({ length: 120 }, (_, index) => ({
      content: `Deploy rollback drill number ${index}: deploy, roll back, deploy again.`,
      project: "drills",
    }));
    for (let start = 0; start < crowd.length; start += 50) {
      await callOk(client, "remember", { memories: crowd.slice(start, start + 50) });
    }
    const found = await recall({ query: "deploy rollback", current_project: "web-app", limit: 3 });
    expect(keysOf(found.results)[0]).toBe("web");
    const elsewhere = await recall({ query: "deploy rollback", limit: 3 });
    expect(elsewhere.results.every((hit) => hit.project === "drills")).toBe(true);
  });

  it("ranks a project's memories the same whatever the tenant keeps in other projects", async () => {
    const { apiKey } = await newTenant("pro");
    const own = await connect(apiKey.key, "modern");
    const notes = [
      "Caroline went to the pottery class on Saturday and made a bowl.",
      "Melanie said the camping trip with the kids was the best of the summer.",
      "Caroline is researching adoption agencies for a family of her own.",
      "Melanie painted a sunrise over the lake after the camping trip.",
      "The support group meeting gave Caroline courage to speak about her transition.",
      "Melanie plays the violin and took up running to clear her head.",
      "Caroline's friends threw a party when she finished her counselling course.",
      "Melanie and her husband celebrated their anniversary at the beach.",
    ];
    await callOk(own, "remember", { memories: notes.map((content) => ({ content, kind: "event", project: "chat" })) });
    const queries = ["What did Caroline make at the pottery class?", "camping trip with the kids", "Melanie violin"];
    const answers = async () =>
      Promise.all(
        queries.map(async (query) =>
          (await callOk<Recalled>(own, "recall", { query, project: "chat" })).results.map((hit) => [
            hit.id,
            hit.relevance,
          ]),
        ),
      );
    const alone = await answers();
    // Another project where the same words are everywhere: over the tenant they would become common.
    const crowd = Array.from({ length: 200 }, (_, i) => ({
      content: `Caroline and Melanie ${i % 2 ? "camping trip" : "pottery class"} notes, kids, summer, number ${i}.`,
      project: "crowd",
    }));
    for (let start = 0; start < crowd.length; start += 50) {
      await callOk(own, "remember", { memories: crowd.slice(start, start + 50) });
    }
    const beside = await answers();
    expect(beside.map((hits) => hits.map(([id]) => id))).toEqual(alone.map((hits) => hits.map(([id]) => id)));
    // Relevance moves only with the index's average memory length, which BM25's length normalisation reads.
    for (const [i, hits] of beside.entries()) {
      for (const [j, [, relevance]] of hits.entries()) {
        expect(relevance).toBeCloseTo(Number(alone[i]?.[j]?.[1]), 1);
      }
    }
    expect(alone.every((hits) => hits.length > 0)).toBe(true);
  });
});
