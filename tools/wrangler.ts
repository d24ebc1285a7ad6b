import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const wranglerPackage = createRequire(import.meta.url).resolve("wrangler/package.json");

/** wrangler's CLI script, to run with this process's Node (`process.execPath`). */
export const WRANGLER_BIN = join(dirname(wranglerPackage), "bin", "wrangler.js");

/** `require` as wrangler sees it: for its own `miniflare`, the one whose options wrangler produces. */
export const wranglerRequire = createRequire(wranglerPackage);

/** The Worker as `wrangler deploy` bundles it, into `outdir` (`--dry-run`: nothing is uploaded). */
export function bundleForDeploy(outdir: string, env?: string): SpawnSyncReturns<string> {
  return spawnSync(
    process.execPath,
    [WRANGLER_BIN, "deploy", "--dry-run", "--outdir", outdir, ...(env ? ["--env", env] : [])],
    {
      stdio: ["ignore", "pipe", "pipe"],
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    },
  );
}
