import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { benchTenant } from "../../bench/admission";
import { loadLocomo, parseSessionDate, turnContent } from "../../bench/locomo";
import {
  evaluate,
  flatBm25Client,
  formatQuality,
  gain,
  mcpMemoryClient,
  type QualityReport,
} from "../../bench/recall-quality";
import { freePort } from "../../tools/free-port";
import { type LocalStack, startLocalStack } from "../../tools/local-stack";

const FIXTURE = join(import.meta.dirname, "..", "fixtures", "locomo-tiny");

describe("the recall benchmark harness (npm run bench:recall) on a tiny LoCoMo-format fixture", () => {
  let stack: LocalStack;
  let stateDir: string;
  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "muninn-recall-bench-test-"));
    stack = await startLocalStack({ port: await freePort(), libsqlPort: await freePort(), stateDir });
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  it("reads turns in session order with their session's date, and only the scored questions", async () => {
    const [conversation] = await loadLocomo(FIXTURE);
    expect(conversation?.turns.map((turn) => turn.diaId).slice(0, 3)).toEqual(["D1:1", "D1:2", "D1:3"]);
    expect(conversation?.turns).toHaveLength(16);
    expect(conversation?.turns[6]?.sessionAt?.toISOString()).toBe("2024-04-21T18:40:00.000Z");
    expect(conversation?.questions.map((question) => question.category)).toEqual([4, 2, 1, 3]);
    const withPhoto = conversation?.turns.find((turn) => turn.photo);
    expect(withPhoto && turnContent(withPhoto)).toBe(
      "Ben: Ha. I spent the weekend fixing the brakes on my bicycle. [shares a photo: a photo of a red road bicycle leaning on a fence]",
    );
    expect(parseSessionDate("12:05 am on 1 January, 2023")?.toISOString()).toBe("2023-01-01T00:05:00.000Z");
    expect(parseSessionDate("yesterday")).toBeNull();
    await expect(loadLocomo(join(FIXTURE, "missing"))).rejects.toThrow(/LOCOMO_DIR/);
  });

  it("saves every turn through remember, asks every question through recall and scores both it and the baseline", async () => {
    const conversations = await loadLocomo(FIXTURE);
    const baselineClient = await flatBm25Client();
    const baseline = await evaluate(baselineClient, conversations);
    baselineClient.close();
    const tenant = await benchTenant({
      baseUrl: stack.info.baseUrl,
      adminToken: stack.info.adminToken,
      vars: stack.vars,
    });
    const ours = await evaluate(mcpMemoryClient(stack.info.baseUrl, tenant.key), conversations);

    const found = (report: QualityReport, category: number) => report.byCategory.get(category)?.at10;
    for (const report of [baseline, ours]) {
      expect(report.overall.questions).toBe(4);
      expect(report.latencies).toHaveLength(4);
      // "What is the name of Ada's kitten?" shares words with its evidence; "clay" meets "pottery" in neither.
      expect(found(report, 4)).toBe(1);
      expect(found(report, 3)).toBe(0);
    }
    const table = formatQuality(ours, baseline);
    expect(table).toContain("| 4 single-hop | 1 |");
    expect(table).toMatch(/\| \*\*overall\*\* \| 4 \| [01]\.\d{3} \|/);
    expect(table).toMatch(/recall latency over MCP: p50 \d+\.\d ms, p95 \d+\.\d ms \(4 questions\)/);
    expect(gain(ours, baseline)).toBeCloseTo(
      ours.overall.at10 / ours.overall.questions - baseline.overall.at10 / baseline.overall.questions,
    );
  }, 60_000);
});
