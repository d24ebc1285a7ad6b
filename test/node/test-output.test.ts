import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");

/** Run one project of the Workers test suite in a child process and return its exit code and whole output. */
function runWorkerProject(project: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(ROOT, "node_modules", "vitest", "vitest.mjs"), "run", "--project", project],
      {
        cwd: ROOT,
        env: { ...process.env, NO_COLOR: "1", CI: "true" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    child.on("error", reject);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: strips terminal colour codes
    child.on("close", (code) => resolve({ code, output: output.replace(/\x1b\[[0-9;]*m/g, "") }));
  });
}

/**
 * Lines that read as a warning: Vite's "Sourcemap for … points to missing
 * source files" and "(!)" notices, wrangler's "▲ [WARNING]", anything saying
 * warn/warning/deprecated.
 */
const WARNING = /Sourcemap for|points to missing source files|^\s*\(!\)|\[WARNING\]|\bwarn(ing)?\b|deprecat/i;

/** A line about our own code names one of our source folders and no dependency. */
function aboutOurCode(line: string): boolean {
  return /\b(workers|shared|durable-objects|test)\//.test(line) && !line.includes("node_modules");
}

describe("the test suite's own output", () => {
  it("shows no uncaught-error traces and no dependency warnings while the outage suite stops and restarts the databases", async () => {
    // The outage suite is where every expected failure happens (refused and dropped connections,
    // an open breaker). Each one is caught and asserted there, so its output must be free of
    // uncaught-error traces: a real one then stands out, and vitest fails the run on it.
    const { code, output } = await runWorkerProject("outage");
    expect(output).toMatch(/Tests\s+\d+ passed/);
    expect(code).toBe(0);
    for (const noise of [/Uncaught/, /Network connection lost/, /Connection refused/, /uncaught exception/]) {
      expect(output).not.toMatch(noise);
    }
    // A warning that is not about our code is a dependency's noise (it used to be 218 lines of
    // Stripe's missing source maps here): silence it at its source, as
    // tools/vitest/strip-dependency-source-maps.ts does, rather than let it bury our own lines.
    const foreignWarnings = output.split("\n").filter((line) => WARNING.test(line) && !aboutOurCode(line));
    expect(foreignWarnings).toEqual([]);
  }, 180_000);
});
