import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadLocomo } from "../../bench/locomo";
import { localCorpus } from "../../bench/recall-local";

const FIXTURE = join(import.meta.dirname, "..", "fixtures", "locomo-tiny");

describe("recall in-process over a local tenant database (the held-out figure's harness)", () => {
  it("answers the fixture's questions as recall over MCP does, and under other lever settings", async () => {
    const corpus = await localCorpus(await loadLocomo(FIXTURE));
    try {
      const outcomes = await corpus.ask();
      expect(outcomes.map((outcome) => outcome.category)).toEqual([4, 2, 1, 3]);
      // "What is the name of Ada's kitten?" is found; "clay" meets "pottery" in no setting.
      expect(outcomes[0]?.rank).toBeGreaterThanOrEqual(0);
      expect(outcomes[3]?.rank).toBe(-1);
      const noContext = await corpus.ask({ context: [0, 0], phrase: 0, time: 0 });
      expect(noContext).toHaveLength(4);
      expect(noContext[3]?.rank).toBe(-1);
    } finally {
      await corpus.close();
    }
  });
});
