import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { generateEncryptionKey } from "../shared/crypto/token-encryption";
import { openDatabase } from "../shared/db/client";
import { migrateManagementDb } from "../shared/migrations/migrate-databases";
import { startFakeStripe } from "../tools/fake-stripe/server";
import { type LibsqlServer, startLibsqlServer } from "../tools/libsql-server/server";

export interface TestStack {
  /** Local libSQL server holding the management DB. */
  mgmtUrl: string;
  /** Local libSQL server holding tenant DBs and answering the Platform API. */
  tenantsUrl: string;
  token: string;
  encryptionKey: string;
  /** Loopback control endpoint: POST /<mgmt|tenants>/<stop|start> to simulate an outage. */
  controlUrl: string;
  /** The fake Stripe API (tools/fake-stripe) and the secrets it and the Worker share. */
  stripe: { url: string; apiKey: string; webhookSecret: string; prices: { pro: string; team: string } };
}

declare module "vitest" {
  export interface ProvidedContext {
    stack: TestStack;
  }
}

/**
 * Start the databases the Worker tests run against: two local libSQL servers
 * (management and tenants, as Turso keeps them apart in production), migrate
 * the management DB, and a control endpoint so outage tests can stop and
 * restart either server on the same port with the same data.
 */
export default async function setup(project: TestProject) {
  const token = `test-libsql-${crypto.randomUUID()}`;
  const servers: Record<"mgmt" | "tenants", { dataDir: string; port: number; server: LibsqlServer | null }> = {
    mgmt: { dataDir: await mkdtemp(join(tmpdir(), "muninn-test-mgmt-")), port: 0, server: null },
    tenants: { dataDir: await mkdtemp(join(tmpdir(), "muninn-test-tenants-")), port: 0, server: null },
  };
  const start = async (name: "mgmt" | "tenants") => {
    const entry = servers[name];
    if (entry.server) return;
    entry.server = await startLibsqlServer({ port: entry.port, dataDir: entry.dataDir, authToken: token });
    entry.port = entry.server.port;
  };
  const stop = async (name: "mgmt" | "tenants") => {
    await servers[name].server?.close();
    servers[name].server = null;
  };
  await start("mgmt");
  await start("tenants");

  const mgmtUrl = `http://127.0.0.1:${servers.mgmt.port}`;
  const mgmtDb = openDatabase({ url: `${mgmtUrl}/management/`, authToken: token }, 10_000);
  await migrateManagementDb(mgmtDb);
  mgmtDb.close();

  const control = createServer(async (req, res) => {
    const [, name, action] = (req.url ?? "").split("/");
    if (req.method !== "POST" || (name !== "mgmt" && name !== "tenants") || (action !== "stop" && action !== "start")) {
      res.writeHead(404).end();
      return;
    }
    try {
      await (action === "stop" ? stop(name) : start(name));
      res.writeHead(204).end();
    } catch (error) {
      res.writeHead(500).end(String(error));
    }
  });
  await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));

  const stripeSettings = {
    apiKey: `sk_test_${crypto.randomUUID().replace(/-/g, "")}`,
    webhookSecret: `whsec_${crypto.randomUUID().replace(/-/g, "")}`,
    prices: { pro: "price_test_pro_monthly", team: "price_test_team_monthly" },
  };
  const fakeStripe = await startFakeStripe(stripeSettings);

  project.provide("stack", {
    mgmtUrl,
    tenantsUrl: `http://127.0.0.1:${servers.tenants.port}`,
    token,
    encryptionKey: generateEncryptionKey(),
    controlUrl: `http://127.0.0.1:${(control.address() as AddressInfo).port}`,
    stripe: { url: fakeStripe.url, ...stripeSettings },
  });
  return async () => {
    await fakeStripe.close();
    await new Promise((resolve) => control.close(resolve));
    await stop("mgmt");
    await stop("tenants");
    await rm(servers.mgmt.dataDir, { recursive: true, force: true });
    await rm(servers.tenants.dataDir, { recursive: true, force: true });
  };
}
