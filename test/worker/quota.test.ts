import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AdmitResult } from "../../durable-objects/tenant/contract";
import { UsageMeter } from "../../durable-objects/tenant/quota";
import { admissionError } from "../../workers/admission";
import { admitInput, asTenant, config, newTenant, openMgmtDb, workerFetch } from "./support";

/** Count `n` tool calls straight into the tenant's meter, as that many earlier admitted calls would have. */
async function useToolCalls(tenantId: string, n: number, now = Date.now()) {
  await runInDurableObject(env.TENANT_DO.getByName(tenantId), (_instance, state) => {
    const meter = new UsageMeter(state.storage.sql);
    for (let i = 0; i < n; i++) meter.count(["tool_calls"], now);
  });
  // Written behind the object's back: make it read its counters again.
  await evictDurableObject(env.TENANT_DO.getByName(tenantId));
}

afterEach(() => {
  vi.useRealTimers();
});

describe("monthly tool-call quota", () => {
  it("refuses tools/call at 100% with 429 naming plan, usage, reset time and upgrade, while other requests work", async () => {
    const { tenant } = await newTenant("free");
    const stub = env.TENANT_DO.getByName(tenant.id);
    await stub.admit(admitInput(tenant.id, "free", { kind: "mcp", toolCall: false }));
    await useToolCalls(tenant.id, 9_999);

    expect(await stub.admit(admitInput(tenant.id, "free", { kind: "mcp", toolCall: true }))).toMatchObject({
      admitted: true,
      quota: { limit: 10_000, used: 9_999 },
    });
    const last = await stub.chargeToolCall(admitInput(tenant.id, "free", { kind: "mcp", toolCall: true }).tenant);
    expect(last).toMatchObject({ charged: true, quota: { limit: 10_000, used: 10_000 } });

    const refused = await stub.admit(admitInput(tenant.id, "free", { kind: "mcp", toolCall: true }));
    expect(refused).toMatchObject({ admitted: false, reason: "quota_exceeded", plan: "free" });
    if (refused.admitted || refused.reason !== "quota_exceeded") throw new Error("expected a quota refusal");
    const nextMonth = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + 1, 1));
    expect(refused.quota.resetsAt).toBe(nextMonth.toISOString());
    expect(refused.retryAfterSeconds).toBeGreaterThan(0);

    const error = admissionError(refused, config.planLimits);
    expect(error.status).toBe(429);
    expect(error.options.headers?.["Retry-After"]).toBe(String(refused.retryAfterSeconds));
    expect(error.toBody().error).toMatchObject({ type: "rate_limited", code: "quota_exceeded" });
    expect(error.message).toBe(
      `Plan quota exceeded: 10000 of 10000 tool calls used this month on the free plan; the quota resets at ` +
        `${nextMonth.toISOString()}. Upgrade to the pro plan for 100000 tool calls per month.`,
    );

    // The charge in the dispatch is refused too, for a call that passed admission just before the quota ran out.
    expect(
      await stub.chargeToolCall(admitInput(tenant.id, "free", { kind: "mcp", toolCall: true }).tenant),
    ).toMatchObject({
      charged: false,
      reason: "quota_exceeded",
    });
    // initialize, tools/list, server/discover are not metered and still go through.
    expect(await stub.admit(admitInput(tenant.id, "free", { kind: "mcp", toolCall: false }))).toMatchObject({
      admitted: true,
    });
    expect((await stub.usageStatus())?.usage).toMatchObject({ toolCalls: 10_000, quotaExceeded: 2 });
  });

  it("warns from 90% of the quota, on every response including the tenant API's", async () => {
    const { tenant, apiKey } = await newTenant("free");
    await useToolCalls(tenant.id, 8_998);
    const below = await env.TENANT_DO.getByName(tenant.id).admit(
      admitInput(tenant.id, "free", { kind: "mcp", toolCall: true }),
    );
    expect(below).toMatchObject({ admitted: true, warnings: [] });
    await env.TENANT_DO.getByName(tenant.id).chargeToolCall(
      admitInput(tenant.id, "free", { kind: "mcp", toolCall: true }).tenant,
    );

    await useToolCalls(tenant.id, 1);
    const response = await workerFetch("/api/usage", {
      headers: asTenant(apiKey.key),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-quota-limit")).toBe("10000");
    expect(response.headers.get("x-quota-remaining")).toBe("1000");
    expect(response.headers.get("x-muninn-warning")).toMatch(
      /^Plan quota nearly reached: 9000 of 10000 tool calls used this month on the free plan; resets .*Upgrade to pro/,
    );
    const body = (await response.json()) as { quotas: { tool_calls_per_month: { used: number; remaining: number } } };
    expect(body.quotas.tool_calls_per_month).toMatchObject({ used: 9000, remaining: 1000 });
  });

  it("starts counting again at the first instant of the next UTC month", async () => {
    const { tenant } = await newTenant("free");
    const stub = env.TENANT_DO.getByName(tenant.id);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2031-01-31T23:59:59.000Z"));
    await useToolCalls(tenant.id, 10_000);
    expect(await stub.admit(admitInput(tenant.id, "free", { kind: "mcp", toolCall: true }))).toMatchObject({
      admitted: false,
      reason: "quota_exceeded",
      quota: { resetsAt: "2031-02-01T00:00:00.000Z" },
      retryAfterSeconds: 1,
    });

    vi.setSystemTime(new Date("2031-02-01T00:00:00.000Z"));
    expect(await stub.admit(admitInput(tenant.id, "free", { kind: "mcp", toolCall: true }))).toMatchObject({
      admitted: true,
    });
    const charged = await stub.chargeToolCall(admitInput(tenant.id, "free", { kind: "mcp", toolCall: true }).tenant);
    expect(charged).toMatchObject({ charged: true, quota: { used: 1, resetsAt: "2031-03-01T00:00:00.000Z" } });

    // Both months reach the management DB, each with its own totals.
    await runDurableObjectAlarm(stub);
    const rows = await openMgmtDb().execute(
      {
        sql: "SELECT period, tool_calls, quota_exceeded FROM usage WHERE tenant_id = ? ORDER BY period",
        args: [tenant.id],
      },
      "read",
    );
    expect(rows.rows.map((row) => ({ ...row }))).toEqual([
      { period: "2031-01", tool_calls: 10_000, quota_exceeded: 1 },
      { period: "2031-02", tool_calls: 1, quota_exceeded: 0 },
    ]);
  });

  it("has no tool-call quota on the team plan", async () => {
    const { tenant } = await newTenant("team");
    await useToolCalls(tenant.id, 200_000);
    const stub = env.TENANT_DO.getByName(tenant.id);
    const result: AdmitResult = await stub.admit(admitInput(tenant.id, "team", { kind: "mcp", toolCall: true }));
    expect(result).toMatchObject({ admitted: true, quota: { limit: null, used: 200_000 }, warnings: [] });
    expect(
      await stub.chargeToolCall(admitInput(tenant.id, "team", { kind: "mcp", toolCall: true }).tenant),
    ).toMatchObject({
      charged: true,
      quota: { limit: null, used: 200_001 },
    });
  });
});
