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
 * The suite's `authorization` scenarios then run against the same stack's
 * OAuth server: issuer metadata, and a full authorization-code grant with
 * PKCE for a client registered here. That scenario prints an authorization
 * URL and waits for a person; the harness is that person, signing a fresh
 * account in and allowing access in the npm-shipped Chromium (tools/browser.ts).
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
import { launchBrowser } from "../browser";
import { freePort } from "../free-port";
import { type LocalStack, repoRoot, startLocalStack } from "../local-stack";
import { registerPublicClient, signInAndDecide } from "../oauth-test-client";

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

/** `conformance authorization` against the stack's issuer, with the browser step driven here. */
async function runAuthorization(stack: LocalStack, outputDir: string): Promise<number> {
  const base = stack.info.baseUrl;
  const email = `conformance-${Date.now()}@example.test`;
  const password = "conformance passphrase";
  const signup = await fetch(`${base}/api/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password, org_name: "Conformance" }),
  });
  if (signup.status !== 201) throw new Error(`signup for the authorization suite failed: ${signup.status}`);
  const port = await freePort();
  const client_id = await registerPublicClient(base, "MCP conformance suite", `http://127.0.0.1:${port}/callback`);

  const browser = await launchBrowser();
  try {
    const args = [
      "conformance",
      "authorization",
      "--url",
      base,
      "--client-id",
      client_id,
      "--resource",
      `${base}/mcp`,
      "--port",
      String(port),
      "--output-dir",
      outputDir,
    ];
    const child = spawn("npx", args, { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] });
    let pending = "";
    const browserSteps: Promise<void>[] = [];
    child.stdout.on("data", (chunk: Buffer) => {
      process.stdout.write(chunk);
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.startsWith(`${base}/authorize?`)) continue;
        browserSteps.push(
          (async () => {
            const page = await browser.newPage();
            try {
              await signInAndDecide(page, line.trim(), { email, password, decision: "Allow" });
              await page.waitForURL(/127\.0\.0\.1:\d+\/callback/);
            } finally {
              await page.close();
            }
          })(),
        );
      }
    });
    const code = await new Promise<number>((resolve) => child.on("exit", (exit) => resolve(exit ?? 1)));
    const outcomes = await Promise.allSettled(browserSteps);
    for (const outcome of outcomes)
      if (outcome.status === "rejected") console.error("browser step failed:", outcome.reason);
    return code;
  } finally {
    await browser.close();
  }
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
    // CONFORMANCE_ONLY=server or =authorization runs one part (CI runs both).
    const only = process.env.CONFORMANCE_ONLY;
    for (const run of only === "authorization" ? [] : RUNS) {
      console.log(`\n=== MCP conformance ${run.specVersion} against ${proxy.url} ===`);
      const code = await runSuite(proxy.url, run, join(stateDir, `results-${run.specVersion}`));
      if (code !== 0) failed += 1;
    }
    if (only !== "server") {
      console.log(`\n=== MCP conformance: authorization server at ${stack.info.baseUrl} ===`);
      if ((await runAuthorization(stack, join(stateDir, "results-authorization"))) !== 0) failed += 1;
    }
  } finally {
    await proxy.close();
    await stack.stop();
    // Keep the suite's checks.json files when something failed: they say which check and why.
    if (failed === 0) await rm(stateDir, { recursive: true, force: true });
    else console.log(`results kept in ${stateDir}`);
  }
  console.log(
    failed === 0
      ? `\nconformance: every run passed (${process.env.CONFORMANCE_ONLY ?? "server and authorization"})`
      : `\nconformance: ${failed} run(s) failed`,
  );
  process.exit(failed === 0 ? 0 : 1);
}

await main();
