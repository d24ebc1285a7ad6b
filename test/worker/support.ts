import { env } from "cloudflare:workers";
import { vi } from "vitest";
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

/** Every JSON log line the Worker writes while `run` runs, parsed. */
export async function logsOf(
  run: () => Promise<void>,
): Promise<{ level: string; message: string; [field: string]: unknown }[]> {
  const lines: string[] = [];
  const capture = (line: unknown) => void lines.push(String(line));
  const spies = [
    vi.spyOn(console, "log").mockImplementation(capture),
    vi.spyOn(console, "warn").mockImplementation(capture),
    vi.spyOn(console, "error").mockImplementation(capture),
  ];
  try {
    await run();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return lines.flatMap((line) => {
    try {
      return [JSON.parse(line)];
    } catch {
      return [];
    }
  });
}
