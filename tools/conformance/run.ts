/**
 * `npm run conformance`: the official MCP conformance suite against the local
 * stack (wrangler dev + local libSQL), for 2025-11-25 and 2026-07-28.
 *
 * The suite sends no credentials, and `/mcp` must not grow a way to skip
 * authentication for it. So the harness puts a loopback proxy in front of
 * the Worker that adds the demo tenant's API key to every request and
 * passes everything else through untouched — including the Host and Origin
 * headers the DNS-rebinding scenario forges.
 *
 * Failures that only the suite's own fixture tools (test_simple_text,
 * test_image_content, …) would fix are listed, each with its reason, in
 * conformance/expected-failures.yml; anything else failing fails the run.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../free-port";
import { repoRoot, startLocalStack } from "../local-stack";

/**
 * 2026-07-28 scenarios are still tagged as the draft suite in this release of
 * the suite (server-stateless, http-header-validation, sep-2164, caching), so
 * that revision runs the whole suite filtered to it.
 */
const RUNS = [
  { specVersion: "2025-11-25", suite: "active" },
  { specVersion: "2026-07-28", suite: "all" },
] as const;
const unlimited = { requestsPerMinute: 1_000_000, toolCallsPerMonth: null };

function startAuthProxy(target: string, apiKey: string) {
  const upstream = new URL(target);
  const server = createServer((incoming, outgoing) => {
    const forwarded = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url,
        headers: { ...incoming.headers, authorization: `Bearer ${apiKey}` },
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on("error", (error) => {
      outgoing.writeHead(502, { "content-type": "text/plain" });
      outgoing.end(`proxy: ${error.message}`);
    });
    incoming.pipe(forwarded);
  });
  return new Promise<{ url: string; close(): Promise<void> }>((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}/mcp`,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

function runSuite(url: string, run: (typeof RUNS)[number], outputDir: string): Promise<number> {
  const args = [
    "conformance",
    "server",
    "--url",
    url,
    "--suite",
    run.suite,
    "--spec-version",
    run.specVersion,
    "--expected-failures",
    join(repoRoot, "conformance/expected-failures.yml"),
    "--output-dir",
    outputDir,
  ];
  const child = spawn("npx", args, { cwd: repoRoot, stdio: "inherit" });
  return new Promise((resolve) => child.on("exit", (code) => resolve(code ?? 1)));
}

async function main() {
  const stateDir = await mkdtemp(join(tmpdir(), "muninn-conformance-"));
  const stack = await startLocalStack({
    port: await freePort(),
    libsqlPort: await freePort(),
    stateDir,
    // The suite fires requests back to back; the plan's rate limit is not what is under test here.
    vars: { PLAN_LIMITS: JSON.stringify({ free: unlimited, pro: unlimited, team: unlimited }) },
  });
  const proxy = await startAuthProxy(stack.info.baseUrl, stack.info.apiKey);
  let failed = 0;
  try {
    for (const run of RUNS) {
      console.log(`\n=== MCP conformance ${run.specVersion} against ${proxy.url} ===`);
      const code = await runSuite(proxy.url, run, join(stateDir, `results-${run.specVersion}`));
      if (code !== 0) failed += 1;
    }
  } finally {
    await proxy.close();
    await stack.stop();
    // Keep the suite's checks.json files when something failed: they say which check and why.
    if (failed === 0) await rm(stateDir, { recursive: true, force: true });
    else console.log(`results kept in ${stateDir}`);
  }
  console.log(
    failed === 0 ? "\nconformance: all spec versions passed" : `\nconformance: ${failed} spec version(s) failed`,
  );
  process.exit(failed === 0 ? 0 : 1);
}

await main();
