/**
 * Two real Worker instances on one Durable Object namespace: the harness of
 * issue 28's exactness bar, for `test/node/two-isolates.test.ts` and the
 * soak (`bench/soak.ts`). The Worker is bundled as `wrangler deploy` bundles
 * it and run twice, in two Miniflare instances (two workerd processes, as two
 * machines would run it) that share a private dev registry: the first holds
 * the Durable Objects, the second's bindings name the first's classes
 * (`scriptName`), so both reach the same tenant objects, the second across
 * processes. Each instance is its own isolate with its own module state
 * (credential cache, lease cache), and stopping the second kills it with
 * whatever lease it holds. Each listens on a loopback port of its own
 * (`url`), so a load generator can use plain HTTP.
 *
 * It leans on wrangler's own Miniflare (the one `unstable_getMiniflareWorkerOptions`
 * produces options for) and on three of its `unsafe` options: the dev
 * registry, Durable Object storage inspection and the v4 option converter. A
 * wrangler upgrade that changes them breaks this file's setup, loudly.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { generateEncryptionKey } from "../shared/crypto/token-encryption";
import { openDatabase } from "../shared/db/client";
import { migrateManagementDb } from "../shared/migrations/migrate-databases";
import { startLibsqlChild } from "./libsql-server/child";
import { type LibsqlServer, startLibsqlServer } from "./libsql-server/server";
import { workerVars } from "./local-secrets";
import { type LogWatch, OutputLog } from "./output-log";
import { bundleForDeploy, wranglerRequire } from "./wrangler";

/** The Worker names the two instances register in their dev registry. */
const FIRST = "muninn-cloud";
const SECOND = "muninn-cloud-second";

/** What the callers use of a Miniflare instance (wrangler's own `miniflare`, whose options wrangler produces). */
interface Miniflare {
  ready: Promise<URL>;
  dispatchFetch(input: string, init?: RequestInit): Promise<Answer>;
  unsafeGetDurableObjectStorage(
    scriptName: string,
    className: string,
    options: { name: string },
  ): Promise<{ exec(query: string, ...bindings: unknown[]): Promise<Record<string, unknown>[]> }>;
  dispose(): Promise<void>;
}
export interface Answer {
  status: number;
  text(): Promise<string>;
}

export interface WorkerInstance {
  /** The instance's own loopback address, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  url: string;
  /** A request through Miniflare's `dispatchFetch` (a URL on any host: the instance serves it). */
  dispatchFetch(input: string, init?: RequestInit): Promise<Answer>;
}

/** A line a Worker or object logged, with the instance (`first` or `second`) that logged it. */
export interface WorkerLogLine {
  instance: "first" | "second";
  level: string;
  message: string;
}

export interface TwoInstances {
  /** The instance that holds the Durable Objects: it runs until `close()`. */
  first: WorkerInstance;
  /** The instance whose objects are the first's; `stop()` ends its workerd process, with whatever leases its isolate holds. */
  second: WorkerInstance & { stop(): Promise<void> };
  adminToken: string;
  /** The Worker's variables and secrets as strings, for tooling that opens its databases (`readConfig`). */
  vars: Record<string, string>;
  mgmtUrl: string;
  libsqlToken: string;
  /** Every line both Workers and their objects logged so far. */
  log(): readonly WorkerLogLine[];
  /** Watch every line either instance logs from now on (as `[first] level message`). */
  watchLog(patterns: RegExp[]): LogWatch;
  /** The request units of each lease the tenant's object has granted and not yet seen returned or reconciled. */
  leasesOutstanding(tenantId: string): Promise<number[]>;
  /** Whether the tenant's object holds counts its alarm has not yet written to the management DB. */
  usageUnflushed(tenantId: string): Promise<boolean>;
  close(): Promise<void>;
}

export interface TwoInstancesOptions {
  /** Where Workers' and objects' requests say they come from. */
  publicUrl?: string;
  /** Extra Worker variables (the defaults flush usage to the management DB 200 ms after the first count). */
  vars?: Record<string, string>;
  /**
   * Run the libSQL server in a process of its own (libsql-server/child.ts)
   * rather than in this one: for a caller that keeps this process busy, as
   * the soak's load generator does.
   */
  libsqlProcess?: "shared" | "own";
}

const { Miniflare: MiniflareClass, convertV4MiniflareOptions } = wranglerRequire("miniflare") as {
  Miniflare: new (options: unknown) => Miniflare;
  convertV4MiniflareOptions(options: unknown): unknown;
};

/** The Worker as `wrangler deploy` bundles it, like `npm run build:check`. */
function bundle(outdir: string): void {
  const build = bundleForDeploy(outdir);
  if (build.status !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${build.stdout}\n${build.stderr}`);
}

/** Bindings, flags and vars as wrangler.toml declares them, without wrangler's warning about secrets we pass as bindings. */
function declaredWorker() {
  const logLevel = process.env.WRANGLER_LOG;
  process.env.WRANGLER_LOG = "error";
  try {
    const { workerOptions } = unstable_getMiniflareWorkerOptions("wrangler.toml");
    const { modulesRules: _bundled, ...declared } = workerOptions as typeof workerOptions & { modulesRules?: unknown };
    return declared;
  } finally {
    if (logLevel === undefined) delete process.env.WRANGLER_LOG;
    else process.env.WRANGLER_LOG = logLevel;
  }
}

export async function startTwoInstances(options: TwoInstancesOptions = {}): Promise<TwoInstances> {
  const dirs: string[] = [];
  const tempDir = async (prefix: string) => {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
  const started: { libsql?: LibsqlServer; first?: Miniflare; second?: Miniflare } = {};
  let secondStopped = false;
  const close = async () => {
    if (!secondStopped) await started.second?.dispose();
    secondStopped = true;
    await started.first?.dispose();
    await started.libsql?.close();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  };
  try {
    const libsqlToken = `libsql-${crypto.randomUUID()}`;
    const libsqlOptions = { port: 0, dataDir: await tempDir("muninn-two-instances-db-"), authToken: libsqlToken };
    started.libsql =
      options.libsqlProcess === "own" ? await startLibsqlChild(libsqlOptions) : await startLibsqlServer(libsqlOptions);
    // The local stack's configuration (tools/local-secrets.ts), with secrets of this run only.
    const local = workerVars(`http://127.0.0.1:${started.libsql.port}`, {
      libsqlToken,
      encryptionKey: generateEncryptionKey(),
      adminToken: `admin-${crypto.randomUUID()}`,
      metricsToken: `metrics-${crypto.randomUUID()}`,
      stripeSecretKey: "",
      stripeWebhookSecret: "",
    });
    const mgmtUrl = local.MGMT_DB_URL as string;
    const mgmt = openDatabase({ url: mgmtUrl, authToken: libsqlToken }, 10_000);
    try {
      await migrateManagementDb(mgmt);
    } finally {
      mgmt.close();
    }

    const outdir = await tempDir("muninn-two-instances-bundle-");
    bundle(outdir);
    const declared = declaredWorker();
    const adminToken = local.ADMIN_TOKEN as string;
    const bindings: Record<string, unknown> = {
      ...(declared.bindings as Record<string, unknown>),
      ...local,
      ENVIRONMENT: "test",
      PUBLIC_URL: options.publicUrl ?? "http://localhost",
      // The object's alarm writes usage to the management DB this soon after the first count.
      USAGE_FLUSH_INTERVAL_MS: "200",
      // No billing: nothing driven through these instances reaches Stripe.
      STRIPE_SECRET_KEY: "",
      STRIPE_WEBHOOK_SECRET: "",
      ...options.vars,
    };
    const worker = {
      ...declared,
      rootPath: outdir,
      modules: true,
      scriptPath: join(outdir, "index.js"),
      bindings,
    };
    const secondObjects = Object.fromEntries(
      Object.entries(declared.durableObjects ?? {}).map(([binding, target]) => [
        binding,
        { ...(target as object), scriptName: FIRST },
      ]),
    );
    const registry = await tempDir("muninn-two-instances-registry-");
    const lines: WorkerLogLine[] = [];
    const output = new OutputLog();
    const shared = (instance: WorkerLogLine["instance"]) => ({
      // Each instance finds the other's Durable Objects here; private to this run, so no other local stack is found.
      unsafeDevRegistryPath: registry,
      // Offline: no fetch of Cloudflare's `request.cf` sample.
      cf: false,
      // Every line workerd prints (the Workers' console, runtime errors and warnings) is kept, not printed.
      handleStructuredLogs: (line: { level: string; message: string }) => {
        lines.push({ instance, level: line.level, message: line.message });
        output.append(`[${instance}] ${line.level} ${line.message}\n`);
      },
      // Lets the caller read a tenant object's lease ledger and counters (`unsafeGetDurableObjectStorage`).
      unsafeInspectDurableObjects: true,
    });
    started.first = new MiniflareClass(
      convertV4MiniflareOptions({ ...shared("first"), workers: [{ ...worker, name: FIRST }] }),
    );
    const firstUrl = await started.first.ready;
    started.second = new MiniflareClass(
      convertV4MiniflareOptions({
        ...shared("second"),
        workers: [{ ...worker, name: SECOND, durableObjects: secondObjects }],
      }),
    );
    const secondUrl = await started.second.ready;
    const { first, second } = started as Required<typeof started>;
    const storage = (tenantId: string) => first.unsafeGetDurableObjectStorage(FIRST, "TenantDO", { name: tenantId });
    return {
      first: {
        url: firstUrl.origin,
        dispatchFetch: (input, init) => first.dispatchFetch(input, init),
      },
      second: {
        url: secondUrl.origin,
        dispatchFetch: (input, init) => second.dispatchFetch(input, init),
        stop: async () => {
          if (secondStopped) return;
          secondStopped = true;
          await second.dispose();
        },
      },
      adminToken,
      vars: Object.fromEntries(
        Object.entries(bindings).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
      ),
      mgmtUrl,
      libsqlToken,
      log: () => lines,
      watchLog: (patterns) => output.watch(patterns),
      async leasesOutstanding(tenantId) {
        const rows = await (await storage(tenantId)).exec("SELECT requests FROM admission_leases");
        return rows.map((row) => Number(row.requests));
      },
      async usageUnflushed(tenantId) {
        const sql = await storage(tenantId);
        return (await sql.exec("SELECT 1 FROM usage_counters WHERE version > flushed_version")).length > 0;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
