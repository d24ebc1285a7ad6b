import { env } from "cloudflare:workers";
import { readConfig } from "../../shared/config";
import { openDatabase } from "../../shared/db/client";
import type { Plan } from "../../shared/plans";
import { type CreatedTenant, createTenant } from "../../shared/tenants/tenants";

/** Shared fixtures for Worker tests: the real management DB and real tenants on the local libSQL server. */
export const config = readConfig(env);

export function managementDb() {
  return openDatabase(config.mgmtDb, config.dbTimeoutMs);
}

let counter = 0;

/** A real tenant with its own provisioned, migrated database and a first API key. */
export async function newTenant(
  plan: Plan = "free",
): Promise<CreatedTenant & { apiKey: NonNullable<CreatedTenant["apiKey"]> }> {
  counter += 1;
  const created = await createTenant(managementDb(), config, {
    orgName: `Test Org ${counter}`,
    ownerEmail: `owner${counter}-${crypto.randomUUID().slice(0, 8)}@example.test`,
    plan,
    firstKeyName: "test key",
    actor: "test",
  });
  if (!created.apiKey) throw new Error("tenant created without a key");
  return created as CreatedTenant & { apiKey: NonNullable<CreatedTenant["apiKey"]> };
}
