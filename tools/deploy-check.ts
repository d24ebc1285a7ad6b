/**
 * `npm run deploy:check -- --env production`: before any deploy, say what
 * the environment still lacks, and exit non-zero if anything:
 * - placeholders in its block of wrangler.toml (the `OAUTH_KV` id until
 *   `wrangler kv namespace create` has run, any value still saying
 *   `set-to-…`, `<…>`, `example.…`) and loopback URLs;
 * - configuration the Worker would refuse at startup (shared/config.ts is
 *   run over the environment's vars, with the secrets standing in);
 * - required secrets not set in Cloudflare, read from `wrangler secret list`
 *   when wrangler has credentials (CLOUDFLARE_API_TOKEN or `wrangler
 *   login`); without them the secrets cannot be verified, which also fails.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { unstable_readConfig } from "wrangler";
import { ConfigError, readConfig } from "../shared/config";
import { WRANGLER_BIN } from "./wrangler";

const repoRoot = resolve(import.meta.dirname, "..");

/** The part of wrangler's resolved configuration this check reads. */
export interface DeployConfig {
  vars: Record<string, unknown>;
  kv_namespaces: { binding: string; id?: string }[];
  routes?: unknown[];
  secrets?: { required?: string[] };
}

const PLACEHOLDER = /set-to-|placeholder|changeme|<[^>]*>|\bexample\.(com|org|net)\b|\bTODO\b/i;
const LOOPBACK = /\/\/(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:|\/|$)/;
/** A KV namespace id as Cloudflare prints it. */
const KV_ID = /^[0-9a-f]{32}$/;

/**
 * What is missing or still a placeholder. `secretNames` is what `wrangler
 * secret list` reported, or null when it could not be asked.
 */
export function deploymentProblems(config: DeployConfig, secretNames: string[] | null, env = "<env>"): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(config.vars)) {
    if (typeof value !== "string") continue;
    if (PLACEHOLDER.test(value)) problems.push(`var ${name} is a placeholder: ${JSON.stringify(value)}`);
    else if (LOOPBACK.test(value)) problems.push(`var ${name} points at this machine: ${JSON.stringify(value)}`);
  }
  for (const kv of config.kv_namespaces) {
    if (!kv.id || !KV_ID.test(kv.id) || /^0+$/.test(kv.id)) {
      problems.push(
        `KV namespace ${kv.binding} has no real id (${JSON.stringify(kv.id ?? "")}): run \`npx wrangler kv namespace create ${kv.binding} --env ${env}\` and put the id in wrangler.toml`,
      );
    }
  }
  if (!config.kv_namespaces.some((kv) => kv.binding === "OAUTH_KV")) problems.push("no OAUTH_KV namespace binding");
  if (!config.routes || config.routes.length === 0)
    problems.push("no route: the Worker would answer on workers.dev only");
  const required = config.secrets?.required ?? [];
  // The Worker's own validation, with each required secret standing in as set.
  const standIns = Object.fromEntries(required.map((name) => [name, "set"]));
  try {
    readConfig({ ...standIns, ...config.vars });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(`the Worker would refuse this configuration: ${error.message}`);
  }
  if (secretNames === null) {
    problems.push(
      `secrets not verified (${required.join(", ")}): wrangler has no credentials here; run \`npx wrangler login\` or set CLOUDFLARE_API_TOKEN, then run this again`,
    );
  } else {
    for (const name of required) {
      if (!secretNames.includes(name)) {
        problems.push(`secret ${name} is not set: \`npx wrangler secret put ${name} --env ${env}\` (docs/deploy.md)`);
      }
    }
  }
  return problems;
}

/** Can wrangler talk to Cloudflare without asking anyone? (A token, or a `wrangler login` on this machine.) */
function hasCredentials(): boolean {
  if (process.env.CLOUDFLARE_API_TOKEN) return true;
  const configHome = process.env.XDG_CONFIG_HOME ?? join(homedir(), ".config");
  return [join(configHome, ".wrangler/config/default.toml"), join(homedir(), ".wrangler/config/default.toml")].some(
    (file) => existsSync(file) && /oauth_token|api_token/.test(readFileSync(file, "utf8")),
  );
}

function listSecrets(env: string): string[] {
  const output = execFileSync(process.execPath, [WRANGLER_BIN, "secret", "list", "--env", env, "--format", "json"], {
    cwd: repoRoot,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  return (JSON.parse(output) as { name: string }[]).map((secret) => secret.name);
}

function main(): void {
  const flag = process.argv.indexOf("--env");
  const env = flag >= 0 ? process.argv[flag + 1] : undefined;
  if (!env) {
    console.error("usage: npm run deploy:check -- --env <staging|production>");
    process.exit(2);
  }
  const config = unstable_readConfig({ config: join(repoRoot, "wrangler.toml"), env }, { hideWarnings: true });
  let secretNames: string[] | null = null;
  if (hasCredentials()) {
    try {
      secretNames = listSecrets(env);
    } catch (error) {
      console.error(
        `deploy:check: \`wrangler secret list --env ${env}\` failed: ${(error as Error).message.split("\n")[0]}`,
      );
    }
  }
  const problems = deploymentProblems(config as unknown as DeployConfig, secretNames, env);
  if (problems.length === 0) {
    console.log(`deploy:check: ${env} is ready to deploy`);
    return;
  }
  console.log(`deploy:check: ${env} is not ready (${problems.length} to fix; docs/deploy.md):`);
  for (const problem of problems) console.log(`  - ${problem}`);
  process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
