/**
 * The one place that finds and starts the browser for every browser test, the
 * conformance harness and the screenshot tools: Chromium as shipped inside the
 * npm package `@sparticuz/chromium`, driven by playwright-core. A machine with
 * only Node and npm has it after `npm install`: no apt, no root, no system
 * browser, and never `npx playwright install` (only the npm registry is
 * reachable). Switching browsers is a change to this file alone.
 */
import sparticuz from "@sparticuz/chromium";
import { type Browser, chromium } from "playwright-core";

/**
 * The package's flags are tuned for AWS Lambda. Two of them would make our
 * tests lie about security: `--disable-web-security` turns off the same-origin
 * policy and `--allow-running-insecure-content` mixed-content blocking, so a
 * page's CSP, CORS or framing mistakes would pass here and fail for people.
 * `--single-process` breaks separate browser contexts (two people in one test).
 */
const DROPPED_FLAGS = new Set(["--disable-web-security", "--allow-running-insecure-content", "--single-process"]);

/** Closed network here: no background calls home, which would only be refused. */
const QUIET_FLAGS = [
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

let executable: Promise<string> | undefined;

/** Unpacks the browser once per process (about 1.7 s the first time; later calls reuse the file). */
function browserExecutablePath(): Promise<string> {
  executable ??= sparticuz.executablePath().catch(async () => {
    // Two processes unpacking at once can see each other's half-written file: one retry,
    // after the other has finished, finds the complete binary.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    return sparticuz.executablePath();
  });
  return executable;
}

function browserArgs(): string[] {
  return [...sparticuz.args.filter((flag) => !DROPPED_FLAGS.has(flag)), ...QUIET_FLAGS];
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: await browserExecutablePath(), args: browserArgs(), headless: true });
}
