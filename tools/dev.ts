/**
 * `npm run dev`: the whole local stack in one command. Starts the local
 * libSQL server, migrates the management DB, seeds a demo tenant on first
 * run, starts `wrangler dev` (Worker + Durable Objects, state persisted under
 * .muninn/), then prints and writes to .muninn/dev.json how to connect.
 * Ctrl-C stops everything; data stays for the next run.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { readConfig } from "../shared/config";
import { openDatabase } from "../shared/db/client";
import { migrateManagementDb } from "../shared/tenants/schema";
import { createTenant, getTenant } from "../shared/tenants/tenants";
import { startLibsqlServer } from "./libsql-server/server";
import { loadOrCreateSecrets, workerVars } from "./local-secrets";

const root = resolve(import.meta.dirname, "..");
const stateDir = join(root, ".muninn");
const port = Number(process.env.PORT ?? 8787);
const libsqlPort = Number(process.env.LIBSQL_PORT ?? 8080);

interface DevInfo {
  baseUrl: string;
  tenantId: string;
  apiKey: string;
  adminToken: string;
  metricsToken: string;
}

async function seedDemoTenant(vars: Record<string, string>): Promise<{ tenantId: string; apiKey: string }> {
  const config = readConfig(vars);
  const mgmt = openDatabase(config.mgmtDb, config.dbTimeoutMs);
  const file = join(stateDir, "dev.json");
  if (existsSync(file)) {
    const previous = JSON.parse(await readFile(file, "utf8")) as DevInfo;
    if (await getTenant(mgmt, previous.tenantId)) return { tenantId: previous.tenantId, apiKey: previous.apiKey };
  }
  const created = await createTenant(mgmt, config, {
    orgName: "Demo",
    ownerEmail: "demo@muninn.local",
    plan: "pro",
    firstKeyName: "dev",
    actor: "dev-seed",
  });
  if (!created.apiKey) throw new Error("demo tenant was created without a key");
  return { tenantId: created.tenant.id, apiKey: created.apiKey.key };
}

async function waitForHealthy(url: string, child: ChildProcess, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with code ${child.exitCode}`);
    try {
      const response = await fetch(`${url}/health`);
      if (response.ok) return;
    } catch {}
    await new Promise((done) => setTimeout(done, 250));
  }
  throw new Error(`the Worker did not become healthy at ${url} within ${timeoutMs / 1000} s`);
}

async function main() {
  await mkdir(stateDir, { recursive: true });
  const secrets = await loadOrCreateSecrets(join(stateDir, "secrets.json"));
  const libsql = await startLibsqlServer({
    port: libsqlPort,
    dataDir: join(stateDir, "libsql"),
    authToken: secrets.libsqlToken,
  });
  const vars = workerVars(libsql.url, secrets);
  const config = readConfig(vars);
  const migration = await migrateManagementDb(openDatabase(config.mgmtDb, config.dbTimeoutMs));
  const demo = await seedDemoTenant(vars);

  const wranglerBin = join(
    dirname(createRequire(import.meta.url).resolve("wrangler/package.json")),
    "bin",
    "wrangler.js",
  );
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", join(stateDir, "wrangler")];
  for (const [name, value] of Object.entries(vars)) args.push("--var", `${name}:${value}`);
  const wrangler = spawn(process.execPath, [wranglerBin, ...args], { cwd: root, stdio: ["inherit", "pipe", "pipe"] });
  // wrangler's banner would print our --var values (secrets); keep its output for errors only.
  let wranglerOutput = "";
  const keep = (chunk: Buffer) => {
    wranglerOutput = (wranglerOutput + chunk.toString()).slice(-20_000);
  };
  wrangler.stdout?.on("data", keep);
  wrangler.stderr?.on("data", keep);

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    wrangler.kill("SIGTERM");
    await libsql.close();
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
  wrangler.on("exit", (code) => {
    if (!stopping) {
      console.error(`wrangler dev stopped (code ${code}):\n${wranglerOutput}`);
      void stop(1);
    }
  });

  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitForHealthy(baseUrl, wrangler);
  } catch (error) {
    console.error(`${(error as Error).message}\n${wranglerOutput}`);
    await stop(1);
    return;
  }
  // From here on wrangler's own request log is useful; pass it through.
  wrangler.stdout?.on("data", (chunk: Buffer) => process.stdout.write(chunk));
  wrangler.stderr?.on("data", (chunk: Buffer) => process.stderr.write(chunk));

  const info: DevInfo = {
    baseUrl,
    tenantId: demo.tenantId,
    apiKey: demo.apiKey,
    adminToken: secrets.adminToken,
    metricsToken: secrets.metricsToken,
  };
  await writeFile(join(stateDir, "dev.json"), `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  console.log(`
Muninn Cloud is running (management DB schema v${migration.to}).

  Base URL        ${baseUrl}
  Local libSQL    ${libsql.url}
  Demo tenant     ${demo.tenantId}
  API key         ${demo.apiKey}
  Admin token     ${secrets.adminToken}
  Metrics token   ${secrets.metricsToken}

  Connect Claude Code:
  claude mcp add --transport http muninn ${baseUrl}/mcp --header "Authorization: Bearer ${demo.apiKey}"

Written to .muninn/dev.json. Ctrl-C stops everything; data is kept in .muninn/.
`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
