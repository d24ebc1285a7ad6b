import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { generateEncryptionKey } from "../shared/crypto/token-encryption";
import { openDatabase } from "../shared/db/client";
import { migrateManagementDb } from "../shared/tenants/schema";
import { startLibsqlServer } from "../tools/libsql-server/server";

declare module "vitest" {
  export interface ProvidedContext {
    libsql: { url: string; token: string; encryptionKey: string };
  }
}

/** Start a fresh local libSQL server for this test run and migrate the management DB on it. */
export default async function setup(project: TestProject) {
  const dataDir = await mkdtemp(join(tmpdir(), "muninn-test-"));
  const token = `test-libsql-${crypto.randomUUID()}`;
  const server = await startLibsqlServer({ port: 0, dataDir, authToken: token });
  const mgmt = openDatabase({ url: `${server.url}/management/`, authToken: token }, 10_000);
  await migrateManagementDb(mgmt);
  mgmt.close();
  project.provide("libsql", { url: server.url, token, encryptionKey: generateEncryptionKey() });
  return async () => {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  };
}
