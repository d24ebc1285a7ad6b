import { describe, expect, it } from "vitest";
import { searchTokens } from "../../../shared/memory/fts-query";
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
