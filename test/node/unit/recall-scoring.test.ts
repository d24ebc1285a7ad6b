import { describe, expect, it } from "vitest";
import {
  CONTEXT_WEIGHTS,
  CONTEXT_WINDOW_MS,
  contextScores,
  fileSignal,
  idealBm25,
  standingSignals,
  tieBreak,
  WEIGHTS,
} from "../../../shared/memory/recall-scoring";

const DAY = 86_400_000;

describe("idealBm25", () => {
  it("adds up each query word's IDF over the project", () => {
    // 100 memories; one word in 1 of them, one in 10.
    const expected = Math.log(99.5 / 1.5) + Math.log(90.5 / 10.5);
    expect(idealBm25({ total: 100, counts: "[1,10]" })).toBeCloseTo(expected, 10);
  });

  it("floors a word found in most memories at FTS5's 1e-6, never below zero", () => {
    expect(idealBm25({ total: 10, counts: "[9]" })).toBe(1e-6);
  });

  it("is 0 when nothing was asked or the project is empty", () => {
    expect(idealBm25(undefined)).toBe(0);
    expect(idealBm25({ total: 0, counts: "[]" })).toBe(0);
  });
});

describe("fileSignal", () => {
  it("is 1 for the same path, 0.6 when one path contains the other, 0 otherwise", () => {
    expect(fileSignal(["src/auth/login.ts"], ["src/auth/login.ts"])).toBe(1);
    expect(fileSignal(["src/auth/"], ["src/auth/login.ts"])).toBe(0.6);
    expect(fileSignal(["src/auth/login.ts"], ["src/auth"])).toBe(0.6);
    expect(fileSignal(["src/authz.ts"], ["src/auth"])).toBe(0);
    expect(fileSignal([], ["src/auth"])).toBe(0);
  });

  it("takes the best of several paths", () => {
    expect(fileSignal(["docs/", "src/db.ts"], ["src/db.ts", "docs/readme.md"])).toBe(1);
  });
});

describe("contextScores", () => {
  const turn = (seq: number, bm25: number | null, extra: Record<string, unknown> = {}) => ({
    seq,
    bm25,
    kind: "event",
    project: "chat",
    created_at: 1_000_000 + seq * 1000,
    ...extra,
  });

  it("lends an event half its neighbour's text score and a fifth of the one beyond, on both sides", () => {
    const rows = [turn(1, 2), turn(2, null), turn(3, 4), turn(4, 10)];
    const context = contextScores(rows);
    const [adjacent, beyond] = CONTEXT_WEIGHTS;
    expect(context.get(2)).toBeCloseTo(adjacent * (2 + 4) + beyond * 10, 10);
    expect(context.get(1)).toBeCloseTo(beyond * 4, 10);
  });

  it("lends nothing across projects, to or from other kinds, or across more than the time window", () => {
    const rows = [
      turn(1, 5, { project: "other" }),
      turn(2, null),
      turn(3, 5, { kind: "decision" }),
      turn(5, 5, { created_at: 1_000_000 + 4 * 1000 + CONTEXT_WINDOW_MS + 1 }),
      turn(6, null, { kind: "decision" }),
      turn(7, 5),
    ];
    const context = contextScores(rows);
    expect(context.get(2)).toBe(0);
    // A decision neither borrows (no entry) nor lends (the event beside it gets nothing from it).
    expect(context.has(6)).toBe(false);
    expect(context.get(7)).toBeCloseTo(CONTEXT_WEIGHTS[1] * 5, 10);
  });
});

describe("standing signals and the tie-break", () => {
  const now = Date.UTC(2026, 10, 29);

  it("keeps every signal between 0 and 1", () => {
    const newest = standingSignals({ importance: 5, accessCount: 10_000, updatedAt: now + DAY }, now);
    expect(newest).toEqual({ recency: 1, importance: 1, use: 1 });
    const oldest = standingSignals({ importance: 1, accessCount: 0, updatedAt: now - 3650 * DAY }, now);
    expect(oldest.importance).toBe(0);
    expect(oldest.use).toBe(0);
    expect(oldest.recency).toBeGreaterThanOrEqual(0);
    expect(oldest.recency).toBeLessThan(1e-40);
  });

  it("adds at most WEIGHTS.tieBreak, so recency, importance and use never lift a weaker match over a stronger one", () => {
    const best = tieBreak({ recency: 1, importance: 1, use: 1 });
    expect(best).toBeCloseTo(WEIGHTS.tieBreak, 10);
    expect(tieBreak({ recency: 0, importance: 0, use: 0 })).toBe(0);
    // A match 0.06 stronger with nothing else still wins over a weaker one with everything.
    expect(0.5 + best).toBeLessThan(0.56 + tieBreak({ recency: 0, importance: 0, use: 0 }));
  });
});
