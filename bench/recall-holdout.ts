/**
 * An honest figure from a small dev split: leave one conversation out. For
 * each conversation, the levers' parameters (`RecallTuning`) are chosen
 * among a few settings by recall@10 on the other conversations only, then
 * scored on the one left out; the figure adds the held-out scores up. With
 * five conversations it estimates what the defaults, chosen on all five,
 * would score on a conversation nobody tuned on.
 */
import type { RecallTuning } from "../shared/memory/recall-levers";
import { CATEGORIES } from "./locomo";
import type { LocalCorpus, Outcome } from "./recall-local";

/**
 * The settings the folds choose among: the defaults, and for each lever
 * (`RecallTuning`) off and one step either side of its default. Whether a
 * lever is used at all is so chosen on the other conversations too.
 */
const HOLDOUT_SETTINGS: Partial<RecallTuning>[] = [
  {},
  { context: [0, 0] },
  { context: [0.3, 0.1] },
  { context: [0.7, 0.3] },
  { phrase: 0 },
  { phrase: 0.2 },
  { phrase: 0.4 },
  { time: 0 },
  { time: 0.1 },
  { time: 0.3 },
];

export interface HoldoutReport {
  /** recall@10 of the defaults over every question (the dev figure, in this process). */
  dev: Outcome[];
  /** Each question scored under the setting its fold chose without it. */
  heldOut: Outcome[];
  /** The setting each left-out conversation was scored with. */
  chosen: { conversation: string; setting: Partial<RecallTuning> }[];
  /** recall@10 of each setting over every question. */
  bySetting: { setting: Partial<RecallTuning>; outcomes: Outcome[] }[];
}

const found = (outcomes: Outcome[]) => outcomes.filter((outcome) => outcome.rank >= 0).length;

export async function leaveOneOut(
  corpus: LocalCorpus,
  settings: Partial<RecallTuning>[] = HOLDOUT_SETTINGS,
): Promise<HoldoutReport> {
  const runs: Outcome[][] = [];
  for (const setting of settings) runs.push(await corpus.ask(setting));
  const dev = runs[0] ?? [];
  const conversations = [...new Set(dev.map((outcome) => outcome.conversation))];
  const heldOut: Outcome[] = [];
  const chosen: HoldoutReport["chosen"] = [];
  for (const left of conversations) {
    // The first best setting on the other conversations (ties go to the earlier, so `{}` when it is as good).
    let best = 0;
    let bestFound = -1;
    runs.forEach((run, index) => {
      const score = found(run.filter((outcome) => outcome.conversation !== left));
      if (score > bestFound) [best, bestFound] = [index, score];
    });
    heldOut.push(...(runs[best] ?? []).filter((outcome) => outcome.conversation === left));
    chosen.push({ conversation: left, setting: settings[best] ?? {} });
  }
  return {
    dev,
    heldOut,
    chosen,
    bySetting: settings.map((setting, index) => ({ setting, outcomes: runs[index] ?? [] })),
  };
}

const share = (outcomes: Outcome[]) => (outcomes.length === 0 ? 0 : found(outcomes) / outcomes.length);

/** recall@10 per category and overall, the defaults on every conversation next to leave-one-out. */
export function formatHoldout(report: HoldoutReport): string {
  const lines = [
    "### Leave one conversation out (in-process `recall`, same code)",
    "",
    "| category | questions | dev recall@10 | held-out recall@10 |",
    "|---|---:|---:|---:|",
  ];
  for (const [category, label] of Object.entries(CATEGORIES)) {
    const of = (outcomes: Outcome[]) => outcomes.filter((outcome) => outcome.category === Number(category));
    const dev = of(report.dev);
    if (dev.length > 0) {
      lines.push(
        `| ${category} ${label} | ${dev.length} | ${share(dev).toFixed(3)} | ${share(of(report.heldOut)).toFixed(3)} |`,
      );
    }
  }
  lines.push(
    `| **overall** | ${report.dev.length} | ${share(report.dev).toFixed(3)} | ${share(report.heldOut).toFixed(3)} |`,
    "",
    ...report.chosen.map(
      ({ conversation, setting }) => `- ${conversation}: chosen on the others ${JSON.stringify(setting)}`,
    ),
    "",
    "Each setting over every conversation (`{}`: the defaults), recall@10 overall and per category:",
    ...report.bySetting.map(({ setting, outcomes }) => {
      const categories = Object.keys(CATEGORIES).map((category) =>
        share(outcomes.filter((outcome) => outcome.category === Number(category))).toFixed(3),
      );
      return `- ${JSON.stringify(setting)}: ${share(outcomes).toFixed(3)} (${categories.join(" / ")})`;
    }),
  );
  return lines.join("\n");
}
