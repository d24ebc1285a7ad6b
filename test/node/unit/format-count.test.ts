import { describe, expect, it } from "vitest";
import { formatCount } from "../../../workers/console/ui/numbers";

describe("formatCount", () => {
  it("writes counts as toLocaleString('en-US') does", () => {
    const values = [0, 7, 12, 999, 1000, 12_345, 999_999, 1_000_000, 123_456_789, -5, -1234, -1_000_000];
    values.push(Number.MAX_SAFE_INTEGER, 1.5, 1e21, Number.NaN);
    for (let n = 1; n < 1e15; n *= 7) values.push(n, n + 1, -n);
    for (const value of values) expect(formatCount(value), String(value)).toBe(value.toLocaleString("en-US"));
  });
});
