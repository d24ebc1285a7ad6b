/**
 * `npm run runbook:check`: prove docs/runbook.md against a real local stack.
 * Starts a fresh stack (temporary state, free ports), then runs every bash
 * block preceded by `<!-- check: REGEX -->` with the runbook's variables set,
 * and requires exit 0 and output matching REGEX. Blocks without a check are
 * the ones that need Cloudflare or Turso accounts (wrangler tail, deploys).
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { freePort } from "./free-port";
import { type DevInfo, repoRoot, startLocalStack } from "./local-stack";

interface Check {
  line: number;
  expect: RegExp;
  script: string;
}

export function parseChecks(markdown: string): Check[] {
  const lines = markdown.split("\n");
  const checks: Check[] = [];
  for (let i = 0; i < lines.length; i++) {
    const marker = lines[i]?.match(/^\s*<!-- check: (.*) -->\s*$/);
    if (!marker?.[1]) continue;
    const open = lines[i + 1]?.match(/^(\s*)```bash\s*$/);
    if (!open) throw new Error(`runbook line ${i + 1}: a check must be followed by a bash block`);
    const indent = open[1]?.length ?? 0;
    const body: string[] = [];
    let j = i + 2;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j] ?? ""); j++) body.push((lines[j] ?? "").slice(indent));
    checks.push({ line: i + 1, expect: new RegExp(marker[1], "m"), script: body.join("\n") });
    i = j;
  }
  return checks;
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

async function main() {
  const checks = parseChecks(await readFile(join(repoRoot, "docs/runbook.md"), "utf8"));
  const stateDir = await mkdtemp(join(tmpdir(), "muninn-runbook-"));
  const stack = await startLocalStack({ port: await freePort(), libsqlPort: await freePort(), stateDir });
  let failed = 0;
  try {
    const { info, vars } = stack;
    // A tenant request first, so per-tenant series exist as they would in any live system.
    await fetch(`${info.baseUrl}/mcp`, {
      method: "POST",
      headers: { authorization: `Bearer ${info.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", method: "tools/list", id: 0 }),
    });
    const eventId = await billingHistory(info);
    const env = {
      ...process.env,
      BASE_URL: info.baseUrl,
      ADMIN_TOKEN: info.adminToken,
      METRICS_TOKEN: info.metricsToken,
      TENANT_ID: info.tenantId,
      TENANT_API_KEY: info.apiKey,
      TEST_API_KEY: info.apiKey,
      TENANT_TOKEN: info.apiKey,
      MGMT_DB_URL: vars.MGMT_DB_URL,
      MGMT_DB_TOKEN: vars.MGMT_DB_TOKEN,
      DB_TOKEN_ENCRYPTION_KEY: vars.DB_TOKEN_ENCRYPTION_KEY,
      TURSO_ORG: vars.TURSO_ORG,
      OWNER_API_KEY: info.ownerKey,
      STRIPE_WEBHOOK_SECRET: info.stripe.webhookSecret,
      EVENT_ID: eventId,
    };
    for (const check of checks) {
      const { code, output } = await run(check.script, env);
      const ok = code === 0 && check.expect.test(output);
      if (!ok) failed += 1;
      const title = check.script.split("\n").find((l) => l.trim() && !l.trim().startsWith("#")) ?? "";
      console.log(`${ok ? "ok  " : "FAIL"} runbook.md:${check.line}  ${title.trim().slice(0, 90)}`);
      if (!ok) {
        console.log(`     exit ${code}; expected /${check.expect.source}/ in:`);
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
  console.log(`runbook: ${checks.length - failed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}

// Run only as a script, so tests can import parseChecks.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
