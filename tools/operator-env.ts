/**
 * How the operator scripts (`npm run sql`, `migrate`, `runbook:env`,
 * `billing:reconcile`) find what to work on, and how they fail.
 *
 * A deployment is named by the environment (MGMT_DB_URL, BASE_URL, …). When
 * none of the variables a script needs is set, it uses the local stack that
 * `npm run dev` recorded under `.muninn/` (or `MUNINN_STATE_DIR`): its
 * `dev.json` (URLs with their ports, the demo tenant, tokens) and
 * `secrets.json`. The two are never mixed: one variable set means the
 * operator is pointing at a deployment, and a missing one is an error naming
 * it rather than a silent fallback to local secrets.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ConfigError } from "../shared/config";
import { type LocalSecrets, workerVars } from "./local-secrets";
import type { DevInfo } from "./local-stack";

const repoRoot = resolve(import.meta.dirname, "..");

export function stateDir(): string {
  return process.env.MUNINN_STATE_DIR ?? join(repoRoot, ".muninn");
}

export interface LocalStackRecord {
  info: DevInfo;
  /** The variables the runbook and the scripts use, for this stack. */
  vars: Record<string, string>;
}

/** What the last `npm run dev` recorded, or null if it never ran here. The stack may since have stopped. */
export function readLocalStack(dir = stateDir()): LocalStackRecord | null {
  const devFile = join(dir, "dev.json");
  const secretsFile = join(dir, "secrets.json");
  if (!existsSync(devFile) || !existsSync(secretsFile)) return null;
  const info = JSON.parse(readFileSync(devFile, "utf8")) as DevInfo;
  const secrets = JSON.parse(readFileSync(secretsFile, "utf8")) as LocalSecrets;
  // dev.json from before the libSQL URL was recorded: the default port is all we can assume.
  const libsqlUrl = info.libsqlUrl ?? "http://127.0.0.1:8080";
  const worker = workerVars(libsqlUrl, secrets);
  const vars: Record<string, string> = {
    BASE_URL: info.baseUrl,
    ADMIN_TOKEN: info.adminToken,
    METRICS_TOKEN: info.metricsToken,
    TENANT_ID: info.tenantId,
    TENANT_API_KEY: info.apiKey,
    TEST_API_KEY: info.apiKey,
    TENANT_TOKEN: info.apiKey,
    OWNER_API_KEY: info.ownerKey ?? "",
    STRIPE_WEBHOOK_SECRET: info.stripe?.webhookSecret ?? "",
    MGMT_DB_URL: worker.MGMT_DB_URL ?? "",
    MGMT_DB_TOKEN: worker.MGMT_DB_TOKEN ?? "",
    DB_TOKEN_ENCRYPTION_KEY: worker.DB_TOKEN_ENCRYPTION_KEY ?? "",
    TURSO_ORG: worker.TURSO_ORG ?? "",
    TURSO_API_URL: worker.TURSO_API_URL ?? "",
    TURSO_API_TOKEN: worker.TURSO_API_TOKEN ?? "",
    TENANT_DB_URL_SCHEME: worker.TENANT_DB_URL_SCHEME ?? "",
  };
  return { info, vars };
}

export interface OperatorEnv {
  env: Record<string, string | undefined>;
  /** Set when the values come from the local stack's record, not the environment. */
  local: LocalStackRecord | null;
}

/**
 * The environment a script reads: `process.env` if it sets any of `names`,
 * else the local stack's variables beneath it (the environment still wins
 * for anything else it sets, such as DB_TIMEOUT_MS).
 */
function operatorEnv(names: readonly string[]): OperatorEnv {
  if (names.some((name) => process.env[name])) return { env: process.env, local: null };
  const local = readLocalStack();
  if (!local) return { env: process.env, local: null };
  return { env: { ...local.vars, ...process.env }, local };
}

/** Is anything answering at `url`? Used to tell "stack not running" apart from other failures. */
export async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  }
}

/** Print one line and exit: what operators see instead of a stack trace. */
export function fail(script: string, line: string, code = 1): never {
  console.error(`${script}: ${line}`);
  process.exit(code);
}

/** A port from the environment, or one line naming the variable and exit. */
export function portFromEnv(script: string, name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    fail(script, `${name} must be a port number (0-65535), got ${JSON.stringify(raw)}: unset it for ${fallback}`, 2);
  }
  return port;
}

const HOW_TO_SET =
  "export it (docs/deploy.md lists every variable), or start the local stack with `npm run dev` and run this from a second shell";

/**
 * Run a script's body; a configuration error becomes one line naming the
 * variable and how to set it, any other error one line with its message.
 * `MUNINN_DEBUG=1` shows the stack trace as well.
 */
export async function runOperatorScript(
  script: string,
  names: readonly string[],
  body: (operator: OperatorEnv) => Promise<void>,
): Promise<void> {
  const operator = operatorEnv(names);
  try {
    await body(operator);
  } catch (error) {
    if (process.env.MUNINN_DEBUG) console.error(error);
    if (error instanceof ConfigError) fail(script, `${error.message} — ${HOW_TO_SET}`, 2);
    const cause = (error as { cause?: { message?: string } } | null)?.cause?.message;
    const message = `${error instanceof Error ? error.message : String(error)}${cause ? ` (${cause})` : ""}`;
    const base = operator.local?.info.baseUrl;
    if (operator.local && base && !(await answers(`${base}/health`))) {
      fail(
        script,
        `the local stack recorded in ${stateDir()} is not running (${message}): start it with \`npm run dev\``,
      );
    }
    fail(script, message);
  }
}
