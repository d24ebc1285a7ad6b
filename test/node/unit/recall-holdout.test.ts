import { describe, expect, it } from "vitest";
import { formatHoldout, leaveOneOut } from "../../../bench/recall-holdout";
import type { LocalCorpus, Outcome } from "../../../bench/recall-local";
import type { RecallTuning } from "../../../shared/memory/recall-levers";

/** A corpus whose answers are given per setting: which questions each finds, per conversation. */
function fakeCorpus(found: Record<string, Record<string, number>>): LocalCorpus {
  return {
    async ask(tuning?: Partial<RecallTuning>) {
      const byConversation = found[JSON.stringify(tuning ?? {})] ?? {};
      const outcomes: Outcome[] = [];
      for (const [conversation, hits] of Object.entries(byConversation)) {
        for (let i = 0; i < 10; i++) outcomes.push({ conversation, category: 4, rank: i < hits ? 0 : -1 });
      }
      return outcomes;
    },
    close: async () => {},
  };
}

describe("leave one conversation out", () => {
  it("scores each conversation with the setting the others chose, never its own best", async () => {
    const off = { phrase: 0 };
    const corpus = fakeCorpus({
      // The defaults win on a and b; "off" wins on c only, by more than it loses on the others.
      "{}": { a: 8, b: 8, c: 2 },
      [JSON.stringify(off)]: { a: 7, b: 7, c: 9 },
    });
    const report = await leaveOneOut(corpus, [{}, off]);
    expect(report.chosen).toEqual([
      // Without a: b 8 + c 2 = 10 against 7 + 9 = 16, so "off" is chosen and a scores 7.
      { conversation: "a", setting: off },
      { conversation: "b", setting: off },
      // Without c: 16 against 14, the defaults; c scores 2 held out, though "off" would give it 9.
      { conversation: "c", setting: {} },
    ]);
    expect(report.heldOut.filter((outcome) => outcome.rank >= 0)).toHaveLength(7 + 7 + 2);
    expect(report.dev.filter((outcome) => outcome.rank >= 0)).toHaveLength(18);
    const table = formatHoldout(report);
    expect(table).toContain("| **overall** | 30 | 0.600 | 0.533 |");
    expect(table).toContain("- c: chosen on the others {}");
    // Categories without questions read 0.000; every fake question is single-hop.
    expect(table).toContain('- {"phrase":0}: 0.767 (0.000 / 0.000 / 0.000 / 0.767)');
  });
});
