/**
 * `npm run docs:check` (also `npm run runbook:check`, as CI calls it): prove
 * the shell commands in README.md and docs/*.md against a real local stack.
 *
 * Every shell block (```bash, ```sh, ```shell) is one of two kinds:
 * - checked: the line before it is `<!-- check: REGEX -->`. It runs verbatim
 *   with `bash -euo pipefail` in the repository, in a shell set up as an
 *   operator's second shell is (`eval "$(npm run -s runbook:env)"` against the
 *   running stack), and must exit 0 with output matching REGEX;
 * - an example: its info string says so (```sh example). Not run: it needs
 *   a Cloudflare, Turso or Stripe account, runs forever (`npm run dev`), or
 *   stands for a value the reader supplies.
 * A block that is neither fails the check, so a new command cannot slip into
 * the docs untested. A fresh stack (temporary state, free ports) is started
 * once; blocks run in file order, runbook first, README next, then the rest.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { freePort } from "./free-port";
import { type DevInfo, repoRoot, startLocalStack } from "./local-stack";

export interface ShellBlock {
  file: string;
  line: number;
  kind: "check" | "example";
  expect?: RegExp;
  script: string;
}

const FENCE = /^(\s*)```(bash|sh|shell|zsh)((?:\s+\S+)*)\s*$/;
const ANY_FENCE = /^\s*```/;
const MARKER = /^\s*<!-- check: (.*) -->\s*$/;

/** Every shell block of a markdown file, classified; throws on one that is neither checked nor an example. */
export function parseShellBlocks(markdown: string, file = "doc"): ShellBlock[] {
  const lines = markdown.split("\n");
  const blocks: ShellBlock[] = [];
  const unmarked: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] ?? "";
    const marker = text.match(MARKER);
    if (marker && !FENCE.test(lines[i + 1] ?? "")) {
      throw new Error(`${file}:${i + 1}: a check must be followed by a bash block`);
    }
    if (!ANY_FENCE.test(text)) continue;
    const open = text.match(FENCE);
    const indent = text.length - text.trimStart().length;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j] ?? ""); j++) body.push((lines[j] ?? "").slice(indent));
    if (open) {
      const previous = (lines[i - 1] ?? "").match(MARKER);
      const example = (open[3] ?? "").split(/\s+/).includes("example");
      if (previous?.[1] && !example) {
        blocks.push({
          file,
          line: i + 1,
          kind: "check",
          expect: new RegExp(previous[1], "m"),
          script: body.join("\n"),
        });
      } else if (example && !previous) {
        blocks.push({ file, line: i + 1, kind: "example", script: body.join("\n") });
      } else {
        unmarked.push(i + 1);
      }
    }
    i = j;
  }
  if (unmarked.length > 0) {
    throw new Error(
      `${file}: shell block(s) at line ${unmarked.join(", ")} are neither checked (<!-- check: REGEX --> on the line before) nor marked as an example (\`\`\`sh example)`,
    );
  }
  return blocks;
}

/** The markdown files the check reads, in the order their blocks run. */
export async function docFiles(): Promise<string[]> {
  const docs = (await readdir(join(repoRoot, "docs"))).filter((name) => name.endsWith(".md")).sort();
  return ["docs/runbook.md", "README.md", ...docs.map((name) => `docs/${name}`).filter((f) => f !== "docs/runbook.md")];
}

function run(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      "bash",
      ["-euo", "pipefail", "-c", script],
      { cwd: repoRoot, env, timeout: 60_000, maxBuffer: 10 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, output: `${stdout}${code === 0 ? "" : stderr}` });
      },
    );
  });
}

/**
 * Give the stack a billing history as any live system has: the demo tenant
 * checks out on the fake Stripe, which delivers the signed webhooks. Returns
 * one of the delivered event ids (the runbook's replay example uses it).
 */
async function billingHistory(info: DevInfo): Promise<string> {
  const started = await fetch(`${info.baseUrl}/api/billing/checkout`, {
    method: "POST",
    headers: { authorization: `Bearer ${info.ownerKey}`, "content-type": "application/json" },
    body: JSON.stringify({ plan: "team" }),
  });
  const { url } = (await started.json()) as { url?: string };
  const sessionId = url?.split("/").at(-1);
  if (!started.ok || !sessionId || !info.stripe.apiBase) throw new Error(`checkout failed: HTTP ${started.status}`);
  const completed = await fetch(`${info.stripe.apiBase}/_fake/checkout/${sessionId}/complete`, { method: "POST" });
  const { events } = (await completed.json()) as { events: { id: string }[] };
  const first = events[0];
  if (!first) throw new Error("the fake Stripe completed the checkout without events");
  return first.id;
}

/** What `eval "$(npm run -s runbook:env)"` sets in an operator's second shell. */
async function secondShell(stateDir: string): Promise<Record<string, string>> {
  // Nothing from the environment this check runs in may point the scripts elsewhere.
  const base: NodeJS.ProcessEnv = { ...process.env, MUNINN_STATE_DIR: stateDir };
  for (const name of Object.keys(base))
    if (/^(MGMT_DB_|TURSO_|DB_TOKEN_|STRIPE_|BASE_URL$)/.test(name)) delete base[name];
  const { code, output } = await run('eval "$(npm run -s runbook:env)"; env -0', base);
  if (code !== 0) throw new Error(`runbook:env failed: ${output}`);
  return Object.fromEntries(
    output
      .split("\0")
      .filter((entry) => entry.includes("="))
      .map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]),
  );
}

async function main() {
  const blocks: ShellBlock[] = [];
  for (const file of await docFiles())
    blocks.push(...parseShellBlocks(await readFile(join(repoRoot, file), "utf8"), file));
  const checks = blocks.filter((block) => block.kind === "check");
  const stateDir = await mkdtemp(join(tmpdir(), "muninn-docs-"));
  const stack = await startLocalStack({ port: await freePort(), libsqlPort: await freePort(), stateDir });
  let failed = 0;
  const started = Date.now();
  try {
    const { info } = stack;
    // A tenant request first, so per-tenant series exist as they would in any live system.
    await fetch(`${info.baseUrl}/mcp`, {
      method: "POST",
      headers: { authorization: `Bearer ${info.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", method: "tools/list", id: 0 }),
    });
    const env = { ...(await secondShell(stateDir)), EVENT_ID: await billingHistory(info) };
    let reportedExit = false;
    for (const check of checks) {
      const { code, output } = await run(check.script, env);
      const ok = code === 0 && (check.expect as RegExp).test(output);
      if (!ok) failed += 1;
      const title = check.script.split("\n").find((l) => l.trim() && !l.trim().startsWith("#")) ?? "";
      console.log(`${ok ? "ok  " : "FAIL"} ${check.file}:${check.line}  ${title.trim().slice(0, 90)}`);
      if (!ok && stack.wrangler.exitCode !== null && !reportedExit) {
        reportedExit = true;
        console.log(`     wrangler dev exited (code ${stack.wrangler.exitCode}); its last output:`);
        console.log(stack.log().slice(-4000));
      }
      if (!ok) {
        console.log(`     exit ${code}; expected /${check.expect?.source}/ in:`);
        console.log(
          output
            .split("\n")
            .slice(0, 15)
            .map((l) => `     | ${l}`)
            .join("\n"),
        );
      }
    }
  } finally {
    await stack.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
  const examples = blocks.length - checks.length;
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  console.log(`docs: ${checks.length - failed} passed, ${failed} failed, ${examples} examples not run (${seconds} s)`);
  process.exit(failed > 0 ? 1 : 0);
}

// Run only as a script, so tests can import the parser.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
