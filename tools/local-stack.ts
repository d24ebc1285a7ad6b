/**
 * The whole local stack as a library: local libSQL server, migrated
 * management DB, a demo tenant (seeded once, then reused) and `wrangler dev`
 * with Durable Objects persisted under the state folder. `npm run dev`,
 * `npm run docs:check`, the conformance harness and the benchmarks all
 * start it the same way.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { readConfig } from "../shared/config";
import { openDatabase } from "../shared/db/client";
import type { MigrationResult } from "../shared/db/migrate";
import { bindTenantTokens, migrateManagementDb } from "../shared/migrations/migrate-databases";
import { createApiKey } from "../shared/tenants/api-keys";
import { createTenant, getTenant } from "../shared/tenants/tenants";
import { type FakeStripe, startFakeStripe } from "./fake-stripe/server";
import { startLibsqlChild } from "./libsql-server/child";
import { type LibsqlServer, startLibsqlServer } from "./libsql-server/server";
import {
  type LocalSecrets,
  type LocalStripe,
  loadOrCreateSecrets,
  SECRET_NAMES,
  stripeVars,
  workerVars,
} from "./local-secrets";
import { Outbox, type OutboxMessage } from "./outbox";
import { type LogWatch, OutputLog } from "./output-log";
import { WRANGLER_BIN } from "./wrangler";

export const repoRoot = resolve(import.meta.dirname, "..");

export interface DevInfo {
  baseUrl: string;
  /** The local libSQL server (management DB at `${libsqlUrl}/management/`); absent in files from older builds. */
  libsqlUrl?: string;
  tenantId: string;
  /** The demo tenant's MCP key (scope `mcp`). */
  apiKey: string;
  /** The demo tenant's owner key (`mcp`, `keys:manage`): billing and account routes. */
  ownerKey: string;
  adminToken: string;
  metricsToken: string;
  /** Billing: the Stripe API the Worker calls (null: Stripe itself), its webhook secret and the plans' prices. */
  stripe: { apiBase: string | null; webhookSecret: string; prices: { pro: string; team: string } };
}

export interface LocalStackOptions {
  port: number;
  libsqlPort: number;
  /** The fake Stripe's port; a free one when omitted (it then changes on every start). */
  stripePort?: number;
  stateDir: string;
  /** Extra Worker variables (e.g. shorter timeouts for a check run). */
  vars?: Record<string, string>;
  /** Pass wrangler's own output through once the Worker is up. */
  passthrough?: boolean;
  /** Called for each email the Worker sends, once it is written to `<stateDir>/outbox/`. */
  onEmail?: (message: OutboxMessage) => void;
  /**
   * Wrangler dev's local explorer tracing (on unless false): it records every
   * invocation's spans and console lines from inside the same workerd
   * process. Useful while developing; the benchmark turns it off, because it
   * costs CPU per invocation that no deployed Worker pays (see docs/mcp.md).
   */
  localTracing?: boolean;
  /**
   * Run the libSQL server in a process of its own (libsql-server/child.ts)
   * rather than in this one: for a caller that keeps this process busy, as
   * the benchmark's load generator does.
   */
  libsqlProcess?: "shared" | "own";
  /** A Worker entry other than wrangler.toml's `main` (the latency benchmark's, bench/far-object-entry.ts). */
  main?: string;
  /** Where wrangler dev's inspector listens (the CPU profile, bench/cpu-profile.ts); wrangler's default when omitted. */
  inspectorPort?: number;
}

export interface LocalStack {
  info: DevInfo;
  libsql: LibsqlServer;
  /** The fake Stripe, unless a real Stripe test account was configured (STRIPE_SECRET_KEY). */
  fakeStripe: FakeStripe | null;
  secrets: LocalSecrets;
  vars: Record<string, string>;
  migration: MigrationResult;
  wrangler: ChildProcess;
  /** The last 2 MB `wrangler dev` printed (the Worker's logs and runtime errors). */
  log(): string;
  /** Watch every line `wrangler dev` prints from now on, however much it prints. */
  watchLog(patterns: RegExp[]): LogWatch;
  /** Every email the Worker sent, one `.eml` each under `<stateDir>/outbox/`. */
  outbox: Outbox;
  stop(): Promise<void>;
}

async function seedDemoTenant(stateDir: string, vars: Record<string, string>) {
  const config = readConfig(vars);
  const mgmtDb = openDatabase(config.mgmtDb, config.dbTimeoutMs);
  const file = join(stateDir, "dev.json");
  if (existsSync(file)) {
    const previous = JSON.parse(await readFile(file, "utf8")) as Partial<DevInfo> & {
      tenantId: string;
      apiKey: string;
    };
    if (await getTenant(mgmtDb, previous.tenantId)) {
      const ownerKey = previous.ownerKey ?? (await ownerKeyFor(mgmtDb, previous.tenantId));
      return { tenantId: previous.tenantId, apiKey: previous.apiKey, ownerKey };
    }
  }
  const created = await createTenant(mgmtDb, config, {
    orgName: "Demo",
    ownerEmail: "demo@muninn.local",
    plan: "pro",
    firstKeyName: "dev",
    actor: "dev-seed",
  });
  if (!created.apiKey) throw new Error("demo tenant was created without a key");
  return {
    tenantId: created.tenant.id,
    apiKey: created.apiKey.key,
    ownerKey: await ownerKeyFor(mgmtDb, created.tenant.id),
  };
}

async function ownerKeyFor(mgmtDb: ReturnType<typeof openDatabase>, tenantId: string): Promise<string> {
  return (await createApiKey(mgmtDb, tenantId, { name: "dev owner", scopes: ["mcp:tools", "keys:manage"] })).key;
}

/** Checkout and the portal return to the console's billing page, as they do in production. */
const BILLING_PAGE = "/app/billing";

const FAKE_PRICES = { pro: "price_local_pro_monthly", team: "price_local_team_monthly" };

/**
 * Billing for the local stack. With STRIPE_SECRET_KEY (a Stripe test
 * account), STRIPE_WEBHOOK_SECRET (from `stripe listen`) and the two price ids
 * in the environment, the Worker talks to Stripe itself; otherwise the fake
 * Stripe starts on a free port and delivers its signed webhooks to the Worker.
 */
async function startStripe(secrets: LocalSecrets, workerUrl: string, options: LocalStackOptions) {
  const env = process.env;
  if (env.STRIPE_SECRET_KEY) {
    const need = (name: string) => {
      const value = env[name];
      if (!value) throw new Error(`STRIPE_SECRET_KEY is set, so ${name} must be too (see docs/billing.md)`);
      return value;
    };
    const stripe: LocalStripe = {
      apiBase: null,
      secretKey: env.STRIPE_SECRET_KEY,
      webhookSecret: need("STRIPE_WEBHOOK_SECRET"),
      prices: { pro: need("STRIPE_PRICE_PRO"), team: need("STRIPE_PRICE_TEAM") },
      successUrl: env.BILLING_SUCCESS_URL ?? `${workerUrl}${BILLING_PAGE}?checkout=success`,
      cancelUrl: env.BILLING_CANCEL_URL ?? `${workerUrl}${BILLING_PAGE}?checkout=cancelled`,
    };
    return { stripe, fake: null };
  }
  const fake = await startFakeStripe({
    port: options.stripePort ?? 0,
    stateFile: join(options.stateDir, "fake-stripe.json"),
    apiKey: secrets.stripeSecretKey,
    webhookSecret: secrets.stripeWebhookSecret,
    webhookUrl: `${workerUrl}/webhooks/stripe`,
    prices: FAKE_PRICES,
  });
  const stripe: LocalStripe = {
    apiBase: fake.url,
    secretKey: secrets.stripeSecretKey,
    webhookSecret: secrets.stripeWebhookSecret,
    prices: FAKE_PRICES,
    successUrl: `${workerUrl}${BILLING_PAGE}?checkout=success`,
    cancelUrl: `${workerUrl}${BILLING_PAGE}?checkout=cancelled`,
  };
  return { stripe, fake };
}

async function waitForHealthy(url: string, child: ChildProcess, output: () => string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with code ${child.exitCode}\n${output()}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {}
    await new Promise((done) => setTimeout(done, 250));
  }
  throw new Error(`the Worker did not become healthy at ${url} within ${timeoutMs / 1000} s\n${output()}`);
}

/** The Worker's variables as a dotenv file only its owner can read. */
async function writeEnvFile(file: string, vars: Record<string, string>): Promise<void> {
  const lines = Object.entries(vars).map(([name, value]) => {
    // Single quotes keep the value literal in dotenv; none of ours needs a quote or a newline.
    if (/['\n\r]/.test(value)) throw new Error(`${name}: a local stack variable may not contain ' or a newline`);
    return `${name}='${value}'`;
  });
  await writeFile(file, `${lines.join("\n")}\n`, { mode: 0o600 });
  // `mode` applies only when the file is created; an older copy may have other bits.
  await chmod(file, 0o600);
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { stateDir } = options;
  // Secrets, tokens and every tenant's data live here: owner only, whatever
  // creates files inside it (wrangler's own state included).
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await chmod(stateDir, 0o700);
  const secrets = await loadOrCreateSecrets(join(stateDir, "secrets.json"));
  const libsqlOptions = { port: options.libsqlPort, dataDir: join(stateDir, "libsql"), authToken: secrets.libsqlToken };
  const libsql = await (options.libsqlProcess === "own" ? startLibsqlChild : startLibsqlServer)(libsqlOptions);
  const baseUrl = `http://127.0.0.1:${options.port}`;
  const { stripe, fake: fakeStripe } = await startStripe(secrets, baseUrl, options);
  // The Worker's public origin is where this stack listens: OAuth metadata and tokens name it.
  const vars = { ...workerVars(libsql.url, secrets), PUBLIC_URL: baseUrl, ...stripeVars(stripe), ...options.vars };
  const config = readConfig(vars);
  const migration = await migrateManagementDb(openDatabase(config.mgmtDb, config.dbTimeoutMs));
  // A .muninn/ from an earlier build may hold tokens in the unbound form.
  await bindTenantTokens(openDatabase(config.mgmtDb, config.dbTimeoutMs), config);
  const demo = await seedDemoTenant(stateDir, vars);

  // Secrets go through a 0600 file, never the command line, where any local
  // user could read them with `ps`. Wrangler loads only the names listed in
  // wrangler.toml's `[secrets] required` from that file, so the other
  // (non-secret) variables stay `--var` arguments.
  const envFile = join(stateDir, "worker.env");
  const secretVars = Object.entries(vars).filter(([name]) => SECRET_NAMES.has(name));
  await writeEnvFile(envFile, Object.fromEntries(secretVars));
  const args = [
    "dev",
    ...(options.main ? [options.main] : []),
    "--ip",
    "127.0.0.1",
    "--port",
    String(options.port),
    "--persist-to",
    join(stateDir, "wrangler"),
    "--env-file",
    envFile,
    ...(options.inspectorPort === undefined ? [] : ["--inspector-port", String(options.inspectorPort)]),
  ];
  for (const [name, value] of Object.entries(vars)) if (!SECRET_NAMES.has(name)) args.push("--var", `${name}:${value}`);
  const wrangler = spawn(process.execPath, [WRANGLER_BIN, ...args], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      ...(options.localTracing === false && { X_LOCAL_OBSERVABILITY: "false" }),
    },
  });
  // Keep wrangler's output for errors only (and for the reliability checks that read it).
  const outputLog = new OutputLog();
  const output = () => outputLog.text();
  const keep = (chunk: string) => outputLog.append(chunk);
  // Decoded as UTF-8 by the streams, so a character split across two chunks stays whole.
  wrangler.stdout?.setEncoding("utf8").on("data", keep);
  wrangler.stderr?.setEncoding("utf8").on("data", keep);
  const outbox = new Outbox(stateDir, options.onEmail);
  outbox.follow(wrangler.stdout);
  outbox.follow(wrangler.stderr);

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (wrangler.exitCode === null) {
      const exited = new Promise((resolve) => wrangler.once("exit", resolve));
      wrangler.kill("SIGTERM");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (wrangler.exitCode === null) wrangler.kill("SIGKILL");
    }
    await libsql.close();
    await fakeStripe?.close();
  };

  try {
    await waitForHealthy(baseUrl, wrangler, () => output().slice(-20_000));
  } catch (error) {
    await stop();
    throw error;
  }
  if (options.passthrough) {
    wrangler.stdout?.on("data", (chunk: string) => process.stdout.write(chunk));
    wrangler.stderr?.on("data", (chunk: string) => process.stderr.write(chunk));
  }

  const info: DevInfo = {
    baseUrl,
    libsqlUrl: libsql.url,
    tenantId: demo.tenantId,
    apiKey: demo.apiKey,
    ownerKey: demo.ownerKey,
    adminToken: secrets.adminToken,
    metricsToken: secrets.metricsToken,
    stripe: { apiBase: stripe.apiBase, webhookSecret: stripe.webhookSecret, prices: stripe.prices },
  };
  await writeFile(join(stateDir, "dev.json"), `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  return {
    info,
    libsql,
    fakeStripe,
    secrets,
    vars,
    migration,
    wrangler,
    log: output,
    watchLog: (patterns) => outputLog.watch(patterns),
    outbox,
    stop,
  };
}
