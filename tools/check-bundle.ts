/**
 * `npm run build:check`: bundle the Worker exactly as `wrangler deploy` would
 * (`--dry-run`, nothing is uploaded) and fail if it does not build or if its
 * gzipped size exceeds the Workers limit we hold ourselves to, or if
 * wrangler warns about the configuration (a var an environment lacks, say):
 * the deploy would print the same warning, where nobody reads it.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { bundleForDeploy } from "./wrangler";

// Cloudflare's limit on the Workers Free plan (paid plans allow 10 MiB). Staying
// under the stricter one keeps every plan deployable and cold starts quick.
const LIMIT_BYTES = 3 * 1024 * 1024;

const outdir = mkdtempSync(join(tmpdir(), "muninn-bundle-"));
const env = process.argv[2];
try {
  const build = bundleForDeploy(outdir, env);
  process.stdout.write(build.stdout);
  process.stderr.write(build.stderr);
  if (build.status !== 0) throw new Error(`wrangler deploy --dry-run failed (exit ${build.status})`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: wrangler colours its output
  const warnings = `${build.stdout}${build.stderr}`.replace(/\x1b\[[0-9;]*m/g, "").match(/\[WARNING\].*/g) ?? [];
  if (warnings.length > 0) {
    console.error(`build:check: wrangler printed ${warnings.length} warning(s); fix them:\n  ${warnings.join("\n  ")}`);
    process.exitCode = 1;
  }
  let raw = 0;
  let gzipped = 0;
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (!name.endsWith(".map")) {
        const bytes = readFileSync(path);
        raw += bytes.length;
        gzipped += gzipSync(bytes).length;
      }
    }
  };
  walk(outdir);
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`bundle: ${kib(raw)} raw, ${kib(gzipped)} gzipped (limit ${kib(LIMIT_BYTES)} gzipped)`);
  if (gzipped > LIMIT_BYTES) {
    console.error("bundle exceeds the Workers size limit");
    process.exitCode = 1;
  }
} finally {
  rmSync(outdir, { recursive: true, force: true });
}
