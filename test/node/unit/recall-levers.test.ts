import { describe, expect, it } from "vitest";
import { searchTokens } from "../../../shared/memory/fts-query";
import { addLevers, DEFAULT_TUNING } from "../../../shared/memory/recall-levers";
import { PHRASE_GAP, phraseSignal } from "../../../shared/memory/recall-phrases";
import { asksWhen, timeSignal } from "../../../shared/memory/recall-time";

describe("phraseSignal", () => {
  const words = (query: string) => searchTokens(query);

  it("is the share of the query's neighbouring word pairs that stand together in the text", () => {
    const query = words("pottery class on Saturday");
    expect(query).toEqual(["pottery", "class", "saturday"]);
    expect(phraseSignal("Ada took a pottery class on Saturday.", query)).toBe(1);
    expect(phraseSignal("Ada took a pottery class; it was fun, and then on Sunday we had lunch.", query)).toBe(0.5);
    expect(
      phraseSignal("Saturday was long. In the end the class went to the museum and someone mentioned pottery.", query),
    ).toBe(0);
  });

  it("counts either order and a gap of a few words, not more", () => {
    const query = words("adoption agency");
    expect(phraseSignal("the agency for adoption", query)).toBe(1);
    const gap = Array.from({ length: PHRASE_GAP - 1 }, () => "x").join(" ");
    expect(phraseSignal(`adoption ${gap} agency`, query)).toBe(1);
    expect(phraseSignal(`adoption ${gap} x agency`, query)).toBe(0);
  });

  it("matches words as the snippet does (endings and long prefixes) and is 0 for a one-word query", () => {
    expect(phraseSignal("she painted sunsets", words("paints sunset"))).toBe(1);
    expect(phraseSignal("PostgreSQL migrations", words("postgres migration"))).toBe(1);
    expect(phraseSignal("pottery pottery", words("pottery"))).toBe(0);
  });
});

describe("the time lever", () => {
  it("knows a question that asks when or how long, whatever its case", () => {
    for (const query of ["When did Ada move?", "how long has she painted", "What year was the trip?"]) {
      expect(asksWhen(query)).toBe(true);
    }
    for (const query of ["Where did Ada move?", "what did she paint", "whenever it rains"]) {
      expect(asksWhen(query)).toBe(false);
    }
  });

  it("is 1 for a text that says when, in plain English time words or dates, else 0", () => {
    for (const text of ["I moved yesterday", "We met last week.", "Back in 2019 I…", "on the 3rd", "in May"]) {
      expect(timeSignal(text)).toBe(1);
    }
    for (const text of ["I moved to Lisbon", "We met at the café.", "the lastest draft", "maybe"]) {
      expect(timeSignal(text)).toBe(0);
    }
  });
});

describe("addLevers", () => {
  const hit = (content: string, score: number) => ({
    memory: { title: null, content },
    score,
    signals: { text: score, context: 0, phrase: 0, time: 0 },
  });
  const candidates = () => [
    hit("pottery and then, much later, a class", 0.9),
    hit("a pottery class last week", 0.75),
    hit("pottery class", 0.5),
    hit("a pottery class yesterday", 0.2),
  ];
  const order = (hits: ReturnType<typeof candidates>) =>
    [...hits].sort((a, b) => b.score - a.score).map((one) => one.memory.content);

  it("adds each lever's weight to the ranking score and says which matched", () => {
    const hits = candidates();
    addLevers(hits, ["pottery", "class"], "When did Ada take a pottery class?", 10, DEFAULT_TUNING, 1, true);
    expect(hits.map((one) => [one.signals.phrase, one.signals.time])).toEqual([
      [0, 1],
      [1, 1],
      [1, 0],
      [1, 1],
    ]);
    expect(hits[1]?.score).toBeCloseTo(0.75 + DEFAULT_TUNING.phrase + DEFAULT_TUNING.time, 10);
  });

  it("skips only candidates that could not reach the first `limit`, so the hits returned are the same", () => {
    const all = candidates();
    addLevers(all, ["pottery", "class"], "When did Ada take a pottery class?", 10, DEFAULT_TUNING, 1, false);
    const pruned = candidates();
    addLevers(pruned, ["pottery", "class"], "When did Ada take a pottery class?", 2, DEFAULT_TUNING, 1, true);
    expect(order(pruned).slice(0, 2)).toEqual(order(all).slice(0, 2));
    // 0.2 + 0.5 is below the second score before the levers (0.75): never looked at.
    expect(pruned[3]?.signals).toEqual({ text: 0.2, context: 0, phrase: 0, time: 0 });
    expect(all[3]?.signals.phrase).toBe(1);
  });
});
