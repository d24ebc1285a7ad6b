/**
 * `npm test`: the Node suite, then the Workers suite, always both. A failure
 * in the first must not hide the second (it used to: `test:node && test:worker`
 * skipped the 298 Workers tests whenever one Node test failed), so each runs
 * to its end, a summary line names each suite's outcome, and the exit code is
 * non-zero when either failed. Sequential, not parallel: both start local
 * servers and workerd, and on a 2-core machine running them together only
 * makes each slower and its timings noisier.
 */
import { spawn } from "node:child_process";

const SUITES = [
  { name: "node", script: "test:node" },
  { name: "worker", script: "test:worker" },
] as const;

function run(script: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn("npm", ["run", "-s", script, "--", ...process.argv.slice(2)], { stdio: "inherit" });
    child.on("close", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    child.on("error", () => resolve(1));
  });
}

const outcomes: string[] = [];
let failed = false;
for (const suite of SUITES) {
  const code = await run(suite.script);
  failed ||= code !== 0;
  outcomes.push(`${suite.name} ${code === 0 ? "passed" : `failed (exit ${code})`}`);
}
console.log(`\nsuites: ${outcomes.join(", ")}`);
process.exit(failed ? 1 : 0);
