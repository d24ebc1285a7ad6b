import { describe, expect, it } from "vitest";
import { ratioRange, roundRatio } from "../../bench/admission";

describe("benchmark ratios over interleaved rounds", () => {
  it("divides round by round, so drift that hits both cases in a round cancels", () => {
    // The machine slows down 3× in round 3; the case is 1.2× the baseline in every round.
    const baseline = [10, 10, 30, 10, 10];
    const slower = [12, 12, 36, 12, 12];
    expect(roundRatio(slower, baseline)).toBeCloseTo(1.2, 10);
    expect(ratioRange(slower, baseline)).toEqual([1.2, 1.2]);
  });

  it("gives the median of the per-round ratios, and their lowest and highest", () => {
    const baseline = [10, 20, 10, 20, 10];
    const noisy = [11, 30, 14, 26, 12];
    // Per round: 1.1, 1.5, 1.4, 1.3, 1.2.
    expect(roundRatio(noisy, baseline)).toBeCloseTo(1.3, 10);
    expect(ratioRange(noisy, baseline)).toEqual([1.1, 1.5]);
  });
});
