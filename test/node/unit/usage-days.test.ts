import { describe, expect, it } from "vitest";
import {
  chartsOf,
  type DayCount,
  firstOfLastDays,
  lastDays,
  latencyBucket,
  statusClass,
} from "../../../shared/usage-days";

const NOW = Date.parse("2026-12-07T12:00:00Z");

describe("per-day usage for the console's charts", () => {
  it("30 days end today, oldest first, across a month boundary", () => {
    const days = lastDays(NOW, 30);
    expect(days).toHaveLength(30);
    expect(days[0]).toBe("2026-11-08");
    expect(days.at(-1)).toBe("2026-12-07");
  });

  it("the first of the last days is the same day lastDays starts with, at any time of day", () => {
    for (const at of ["2026-12-07T00:00:00Z", "2026-12-07T23:59:59.999Z", "2024-03-01T06:00:00Z"]) {
      for (const days of [1, 2, 30, 31]) {
        expect(firstOfLastDays(Date.parse(at), days)).toBe(lastDays(Date.parse(at), days)[0]);
      }
    }
    expect(firstOfLastDays(NOW, 31)).toBe("2026-11-07");
  });

  it("puts each count on its day and series, and leaves other days at zero", () => {
    const rows: DayCount[] = [
      { day: "2026-12-07", metric: "tool", key: "remember", count: 3 },
      { day: "2026-12-06", metric: "tool", key: "recall", count: 2 },
      { day: "2026-12-07", metric: "status", key: statusClass(201), count: 5 },
      { day: "2026-12-07", metric: "status", key: statusClass(429), count: 1 },
      { day: "2025-01-01", metric: "tool", key: "remember", count: 99 },
    ];
    const charts = chartsOf(rows, lastDays(NOW, 30));
    expect(charts.toolCalls.series.map((s) => s.name)).toEqual(["recall", "remember"]);
    expect(charts.toolCalls.series[1]?.values.at(-1)).toBe(3);
    expect(charts.toolCalls.series[1]?.values.reduce((a, b) => a + b, 0)).toBe(3);
    expect(charts.toolCalls.series[0]?.values.at(-2)).toBe(2);
    expect(charts.requests.series.map((s) => [s.name, s.values.at(-1)])).toEqual([
      ["2xx", 5],
      ["3xx", 0],
      ["4xx", 1],
      ["5xx", 0],
    ]);
  });

  it("reads p50 and p95 off the latency buckets, null on a day without requests", () => {
    // 90 requests at ≤ 10 ms, 10 at ≤ 500 ms.
    const rows: DayCount[] = [
      { day: "2026-12-07", metric: "latency", key: latencyBucket(7), count: 90 },
      { day: "2026-12-07", metric: "latency", key: latencyBucket(420), count: 10 },
    ];
    const { latency } = chartsOf(rows, lastDays(NOW, 2));
    const [p50, p95] = latency.series;
    expect(p50?.values).toEqual([null, 8]);
    expect(p95?.values).toEqual([null, 375]);
    expect(latencyBucket(20_000)).toBe("inf");
  });
});
