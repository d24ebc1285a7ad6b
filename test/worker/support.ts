import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { expect, vi } from "vitest";
import { type AdmitInput, type CloseReason, LEASE_LIFETIME_MS } from "../../durable-objects/tenant/contract";
import { readConfig } from "../../shared/config";
import { openDatabase } from "../../shared/db/client";
import type { Plan } from "../../shared/plans";
import { type CreatedTenant, createTenant } from "../../shared/tenants/tenants";

/** Shared fixtures for Worker tests: the real management DB and real tenants on the local libSQL server. */
export const config = readConfig(env);

/**
 * Where tests address the Worker. A loopback host, because `/mcp` only
 * answers the hosts the local allow-list names (DNS-rebinding protection).
 */
export const BASE_URL = "http://localhost";

/** A request straight into the Worker under test; a path is resolved against `BASE_URL`. */
export function workerFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const target = typeof input === "string" && input.startsWith("/") ? `${BASE_URL}${input}` : input;
  return exports.default.fetch(new Request(target, init));
}

/** The operator's credential for the admin API, with a JSON content type for bodies. */
export const ADMIN = { authorization: `Bearer ${config.adminToken}`, "content-type": "application/json" };

/** The scraper's credential for `/metrics`. */
export const METRICS_AUTH = { authorization: `Bearer ${config.metricsToken}` };

/** A tenant's API key as request headers. */
export function asTenant(key: string, headers: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${key}`, ...headers };
}

export function openMgmtDb() {
  return openDatabase(config.mgmtDb, config.dbTimeoutMs);
}

let counter = 0;

/** A real tenant with its own provisioned, migrated database and a first API key. */
export async function newTenant(
  plan: Plan = "free",
): Promise<CreatedTenant & { apiKey: NonNullable<CreatedTenant["apiKey"]> }> {
  counter += 1;
  const created = await createTenant(openMgmtDb(), config, {
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

/** A tenant's live session count and lifetime creations and closes, as the admin API reports them. */
export async function sessionStats(
  tenantId: string,
): Promise<{ active: number; created: number; closed: Record<CloseReason, number> }> {
  const response = await workerFetch(`/api/tenants/${tenantId}/sessions`, { headers: ADMIN });
  if (response.status !== 200) throw new Error(`session list answered ${response.status}`);
  const body = (await response.json()) as {
    count: number;
    created_total: number;
    closed_total: Record<CloseReason, number>;
  };
  return { active: body.count, created: body.created_total, closed: body.closed_total };
}

/** A direct `TenantDO.admit` call's input for an active tenant: an API request unless `extra` says otherwise. */
export function admitInput(tenantId: string, plan: Plan = "free", extra: Partial<AdmitInput> = {}): AdmitInput {
  return { kind: "api", tenant: { id: tenantId, plan, status: "active", rateLimitOverride: null }, ...extra };
}

/**
 * Wait until every lease an isolate took of the tenant's budget has been
 * returned (the Worker returns an unrenewed lease at the end of its one-second
 * lifetime): only then do the object's usage counters hold every request and
 * tool call admitted from it (docs/rate-limits.md, "Leases").
 */
export async function leasesSettled(tenantId: string): Promise<void> {
  const outstanding = () =>
    runInDurableObject(env.TENANT_DO.getByName(tenantId), (_instance, state) =>
      Number(state.storage.sql.exec("SELECT COUNT(*) AS n FROM admission_leases").one().n),
    );
  await vi.waitFor(async () => expect(await outstanding()).toBe(0), { timeout: 10_000, interval: 50 });
}

/**
 * Move the clock (`Date` only) on by one lease lifetime: the bound within
 * which a change of plan, override or status reaches every isolate, including
 * this test's, which may hold a lease granted before the change
 * (docs/rate-limits.md, "Leases"). Cumulative; restore with `vi.useRealTimers()`.
 */
export function afterOneLeaseLifetime(): void {
  if (!vi.isFakeTimers()) vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Date.now() + LEASE_LIFETIME_MS);
}
