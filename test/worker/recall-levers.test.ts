import { beforeAll, describe, expect, it } from "vitest";
import { memoryTenant } from "./memory-tools-support";

let remember: Awaited<ReturnType<typeof memoryTenant>>["remember"];
let recall: Awaited<ReturnType<typeof memoryTenant>>["recall"];

beforeAll(async () => {
  ({ remember, recall } = await memoryTenant());
});

describe("recall's levers beside BM25 (issue 27)", () => {
  it("ranks the memory where the query's words stand together above a shorter one that has them apart", async () => {
    const saved = await remember({
      memories: [
        {
          content: "Ada signed up for a pottery class at the community centre on Saturday mornings.",
          kind: "note",
          project: "phrases",
        },
        { content: "Class photos went up today. Ben wants to try pottery one day.", kind: "note", project: "phrases" },
      ],
    });
    const [together, apart] = saved.results.map((result) => result.id);
    const found = await recall({ query: "pottery class", project: "phrases", explain: true });
    expect(found.results.map((hit) => hit.id)).toEqual([together, apart]);
    expect(found.results.map((hit) => hit.explain?.signals.phrase)).toEqual([1, 0]);
    // BM25 alone prefers the shorter memory: the phrase is what lifts the other one.
    expect(found.results[1]!.explain!.signals.text).toBeGreaterThan(found.results[0]!.explain!.signals.text!);
  });

  it("lets words a few apart, in either order, count as standing together, and says so per hit", async () => {
    await remember({
      memories: [{ content: "Met the agency for adoption about next steps.", kind: "note", project: "phrases-order" }],
    });
    const found = await recall({ query: "adoption agency", project: "phrases-order", explain: true });
    expect(found.results[0]?.explain?.signals.phrase).toBe(1);
    const single = await recall({ query: "adoption", project: "phrases-order", explain: true });
    expect(single.results[0]?.explain?.signals.phrase).toBe(0);
  });

  it("lifts a memory that says when for a question asking when, and only then", async () => {
    const saved = await remember({
      memories: [
        {
          content: "We finally adopted Biscuit from the shelter two weeks ago, after months of paperwork.",
          kind: "note",
          project: "when",
        },
        { content: "The puppy chewed my shoes.", kind: "note", project: "when" },
      ],
    });
    const [says, silent] = saved.results.map((result) => result.id);
    const when = await recall({ query: "When did Ada adopt the puppy?", project: "when", explain: true });
    expect(when.results.map((hit) => hit.id)).toEqual([says, silent]);
    expect(when.results.map((hit) => hit.explain?.signals.time)).toEqual([1, 0]);
    // Asked without "when", the shorter memory's BM25 wins and no time signal is given.
    const what = await recall({ query: "Did Ada adopt the puppy?", project: "when", explain: true });
    expect(what.results.map((hit) => hit.id)).toEqual([silent, says]);
    expect(what.results.map((hit) => hit.explain?.signals.time)).toEqual([0, 0]);
  });
});
