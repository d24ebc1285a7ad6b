import { afterAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../../shared/db/client";
import { getTenantDatabase } from "../../../shared/tenants/tenants";
import { post } from "../mcp-support";
import { config, METRICS_AUTH, newTenant, openMgmtDb, workerFetch } from "../support";
import { database, eventually } from "./support";

interface ToolResponse {
  result?: { isError?: boolean; structuredContent?: { id: string }; content?: { text: string }[] };
  error?: { message: string };
}

/** One stateless `remember` with an idempotency key; resolves to the HTTP status and whether it was saved. */
async function remember(key: string, n: number): Promise<{ status: number; saved: boolean; error?: string }> {
  const response = await post(key, {
    jsonrpc: "2.0",
    id: n,
    method: "tools/call",
    params: {
      name: "remember",
      arguments: { content: `outage note ${n}`, kind: "fact", idempotency_key: `note-${n}` },
    },
  });
  if (response.status !== 200) return { status: response.status, saved: false };
  const body = (await response.json()) as ToolResponse;
  const saved = body.result !== undefined && !body.result.isError;
  return { status: 200, saved, error: saved ? undefined : (body.result?.content?.[0]?.text ?? body.error?.message) };
}

describe("tenant database outage under load", () => {
  afterAll(() => database("tenants", "start"));

  it("answers only documented errors, loses nothing, writes nothing twice, and recovers", async () => {
    const { tenant, apiKey } = await newTenant("team");
    const notes = Array.from({ length: 30 }, (_, i) => i);
    const saved = new Set<number>();
    const statuses = new Set<number>();
    const errors = new Set<string>();
    const send = async (batch: number[]) => {
      const outcomes = await Promise.all(batch.map((n) => remember(apiKey.key, n)));
      for (const outcome of outcomes) {
        statuses.add(outcome.status);
        if (outcome.error) errors.add(outcome.error);
      }
      return outcomes;
    };

    await send(notes.slice(0, 10));
    await database("tenants", "stop");
    const during = await send(notes.slice(10, 20));
    expect(during.some((outcome) => outcome.saved)).toBe(false);
    // Management DB is up: health is fine, the tenant's breaker shows the trouble.
    const health = (await (await workerFetch("/health")).json()) as {
      status: string;
      checks: { managementDb: string };
    };
    expect(health.checks.managementDb).toBe("ok");
    // The per-tenant series the TenantDatabaseUnreachable alert reads names this tenant.
    const failures = await workerFetch(`/metrics?tenant=${tenant.id}`, { headers: METRICS_AUTH });
    const line = (await failures.text()).split("\n").find((l) => l.startsWith("tenant_db_connection_failures_total{"));
    expect(line).toMatch(new RegExp(`^tenant_db_connection_failures_total\\{tenant="${tenant.id}"\\} [1-9]\\d*$`));
    await database("tenants", "start");
    await send(notes.slice(20));

    // Clients retry whatever failed with the same idempotency key until it is saved.
    await eventually(async () => {
      const outcomes = await Promise.all(notes.map((n) => remember(apiKey.key, n)));
      outcomes.forEach((outcome, n) => {
        if (outcome.saved) saved.add(n);
      });
      for (const outcome of outcomes) statuses.add(outcome.status);
      return saved.size === notes.length;
    }, 15_000);

    // Only 200 (tool results, including the documented "database unavailable" tool error) and 503.
    expect([...statuses].every((status) => status === 200 || status === 503)).toBe(true);
    for (const error of errors) expect(error).toMatch(/database unavailable|Circuit breaker|retry/i);

    const record = await getTenantDatabase(openMgmtDb(), config, tenant.id);
    const db = openDatabase(record!.coordinates, 10_000);
    const rows = await db.execute(
      "SELECT content, COUNT(*) AS copies FROM memories WHERE content LIKE 'outage note %' GROUP BY content",
      "read",
    );
    expect(rows.rows).toHaveLength(notes.length);
    expect(rows.rows.every((row) => row.copies === 1)).toBe(true);
  });
});
