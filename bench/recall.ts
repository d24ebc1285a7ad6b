/**
 * `npm run bench:recall [folder]`: recall quality on a LoCoMo-format folder
 * (default `../shared/eval/locomo-dev` beside the repository, or
 * `LOCOMO_DIR`), through `remember` and `recall` of a fresh local stack, next
 * to a flat BM25 baseline computed in the same run. Exits non-zero when
 * recall@10 is not at least `RECALL_GOAL` (default 0.10) above the baseline.
 *
 * `RECALL_BESIDE=100000` measures the second setting: the same tenant also
 * holds that many memories of another project (`recall-beside.ts`), so the
 * table shows whether a project's ranking depends on the rest of the tenant.
 * `RECALL_SCOPE=current` asks every question across all projects with the
 * conversation's project as `current_project`, instead of in that project.
 *
 * Then, unless `RECALL_HOLDOUT=0`, the leave-one-conversation-out figure
 * (`recall-holdout.ts`): the same code in this process, the levers'
 * parameters chosen on all conversations but one and scored on that one.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "../tools/free-port";
import { repoRoot, startLocalStack } from "../tools/local-stack";
import { benchTenant } from "./admission";
import { loadLocomo } from "./locomo";
import { seedOtherProject } from "./recall-beside";
import { formatHoldout, leaveOneOut } from "./recall-holdout";
import { localCorpus } from "./recall-local";
import { evaluate, flatBm25Client, formatQuality, gain, mcpMemoryClient } from "./recall-quality";

const dir = resolve(process.argv[2] ?? process.env.LOCOMO_DIR ?? join(repoRoot, "..", "shared", "eval", "locomo-dev"));
const goal = Number(process.env.RECALL_GOAL ?? "0.10");
const beside = Number(process.env.RECALL_BESIDE ?? "0");
const scope = process.env.RECALL_SCOPE === "current" ? "current" : "project";
const conversations = await loadLocomo(dir);

const baselineClient = await flatBm25Client();
const baseline = await evaluate(baselineClient, conversations);
baselineClient.close();

const stateDir = await mkdtemp(join(tmpdir(), "muninn-recall-bench-"));
const stack = await startLocalStack({ port: await freePort(), libsqlPort: await freePort(), stateDir });
try {
  const target = { baseUrl: stack.info.baseUrl, adminToken: stack.info.adminToken, vars: stack.vars };
  const tenant = await benchTenant(target);
  if (beside > 0) await seedOtherProject(target, tenant.id, conversations, beside);
  const ours = await evaluate(mcpMemoryClient(stack.info.baseUrl, tenant.key, 50, scope), conversations);
  console.log(
    `${dir}: ${conversations.length} conversations, ` +
      `${beside > 0 ? `beside ${beside} memories of another project` : "in a fresh tenant"}, ` +
      `${scope === "current" ? "asked across projects with current_project" : "asked in their project"}\n`,
  );
  console.log(formatQuality(ours, baseline));
  const delta = gain(ours, baseline);
  console.log(
    `\nrecall@10 − baseline = ${delta.toFixed(3)} (goal ≥ ${goal.toFixed(2)}): ${delta >= goal ? "met" : "MISSED"}`,
  );
  if (delta < goal) process.exitCode = 1;
} finally {
  await stack.stop();
  await rm(stateDir, { recursive: true, force: true });
}

if (process.env.RECALL_HOLDOUT !== "0" && conversations.length > 1) {
  const corpus = await localCorpus(conversations);
  try {
    console.log(`\n${formatHoldout(await leaveOneOut(corpus))}`);
  } finally {
    await corpus.close();
  }
}
