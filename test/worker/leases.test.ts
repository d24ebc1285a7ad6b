import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { EXPIRY_GRACE_MS, LEASE_LIFETIME_MS, type LeaseInput } from "../../durable-objects/tenant/contract";
import { AdmissionLeases, type LeaseGrantor } from "../../workers/admission-leases";
import { ADMIN, admitInput, asTenant, leasesSettled, newTenant, openMgmtDb, workerFetch } from "./support";

/**
 * Leases as isolates use them. An "isolate" here is one `AdmissionLeases`,
 * the per-isolate lease cache the Worker keeps in module state: two
 * instances calling the same tenant's Durable Object stub behave as two
 * isolates (or two colos) would, each with its own leases. The plugin runs
 * one Worker isolate; two real Worker instances bound to one namespace are
 * tested in test/node/two-isolates.test.ts. Here the clock and an isolate's
 * `waitUntil` work are in the test's hands (a lease's lifetime, a death).
 */

afterEach(() => {
  vi.useRealTimers();
});

/** The tenant's object as an isolate reaches it, counting the calls it makes. */
function grantorFor(tenantId: string) {
  const stub = env.TENANT_DO.getByName(tenantId);
  const calls = { lease: 0, returnLeases: 0 };
  const grantor: LeaseGrantor = {
    lease: (input: LeaseInput) => {
      calls.lease += 1;
      return stub.lease(input);
    },
    returnLeases: (input) => {
      calls.returnLeases += 1;
      return stub.returnLeases(input);
    },
  };
  return { grantor, calls };
}

/** `waitUntil` of a live isolate: the work runs and can be awaited by the test. */
function liveIsolate() {
  const pending: Promise<unknown>[] = [];
  return { defer: (work: () => Promise<unknown>) => void pending.push(work()), settled: () => Promise.all(pending) };
}

async function usageOf(tenantId: string) {
  return (await env.TENANT_DO.getByName(tenantId).usageStatus())?.usage;
}

async function outstandingRequestUnits(tenantId: string): Promise<number> {
  return runInDurableObject(env.TENANT_DO.getByName(tenantId), (_instance, state) =>
    Number(state.storage.sql.exec("SELECT COALESCE(SUM(requests), 0) AS n FROM admission_leases").one().n),
  );
}

describe("admission leases", () => {
  it("admits at most the limit of 200 concurrent requests from two isolates, and usage counts each admitted one once", async () => {
    const { tenant } = await newTenant("free");
    const input = admitInput(tenant.id).tenant;
    const { grantor } = grantorFor(tenant.id);
    const isolates = [new AdmissionLeases(), new AdmissionLeases()];
    const live = liveIsolate();
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => isolates[i % 2]!.admit(grantor, input, {}, live.defer)),
    );
    const admitted = results.filter((result) => result.admitted).length;
    // What is still leased and unused when the burst is over is all the limit can be short by.
    const outstanding = await outstandingRequestUnits(tenant.id);
    expect(admitted).toBeLessThanOrEqual(60);
    expect(admitted).toBeGreaterThanOrEqual(60 - outstanding);
    expect(results.filter((result) => !result.admitted).every((result) => result.reason === "rate_limited")).toBe(true);

    // Both isolates return their leases at the end of the lifetime; then usage is exact.
    await live.settled();
    await leasesSettled(tenant.id);
    expect(await usageOf(tenant.id)).toMatchObject({ requests: admitted });
    expect(await env.TENANT_DO.getByName(tenant.id).rateLimitStatus()).toMatchObject({ used: admitted });
    // And the month's usage in the management DB, where billing reads it, after the object's flush.
    expect(await runDurableObjectAlarm(env.TENANT_DO.getByName(tenant.id))).toBe(true);
    const row = await openMgmtDb().execute(
      { sql: "SELECT requests, rate_limited FROM usage WHERE tenant_id = ?", args: [tenant.id] },
      "read",
    );
    expect(row.rows[0]).toMatchObject({ requests: admitted, rate_limited: 200 - admitted });
  });

  it("admits at most the limit of 200 concurrent requests split between the Worker itself and a second isolate, and usage equals what was admitted", async () => {
    const { tenant, apiKey } = await newTenant("free");
    const input = admitInput(tenant.id).tenant;
    const { grantor } = grantorFor(tenant.id);
    // One isolate is the Worker this test runs in (its own lease cache, through HTTP); the other a second cache.
    const other = new AdmissionLeases();
    const live = liveIsolate();
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        if (i % 2 === 1) return (await other.admit(grantor, input, {}, live.defer)).admitted;
        const response = await workerFetch("/api/me", { headers: asTenant(apiKey.key) });
        expect([200, 429]).toContain(response.status);
        return response.status === 200;
      }),
    );
    const admitted = outcomes.filter(Boolean).length;
    const outstanding = await outstandingRequestUnits(tenant.id);
    expect(admitted).toBeLessThanOrEqual(60);
    expect(admitted).toBeGreaterThanOrEqual(60 - outstanding);
    await live.settled();
    await leasesSettled(tenant.id);
    expect(await usageOf(tenant.id)).toMatchObject({ requests: admitted });
    // Refusals answered from a remembered refusal are reported when it ends (the Worker's waitUntil): then exact too.
    await vi.waitFor(async () => expect(await usageOf(tenant.id)).toMatchObject({ rateLimited: 200 - admitted }), {
      timeout: 10_000,
      interval: 100,
    });
  });

  it("admits nothing from a lease whose answer came after its lifetime, and counts exactly what it admitted", async () => {
    const { tenant } = await newTenant("pro");
    const input = admitInput(tenant.id, "pro").tenant;
    const stub = env.TENANT_DO.getByName(tenant.id);
    vi.useFakeTimers({ toFake: ["Date"] });
    let calls = 0;
    const slowFirst: LeaseGrantor = {
      lease: async (leaseInput) => {
        calls += 1;
        const result = await stub.lease(leaseInput);
        // The first answer arrives a lifetime after it was asked for (a loaded machine, a slow object).
        if (calls === 1) vi.setSystemTime(Date.now() + LEASE_LIFETIME_MS);
        return result;
      },
      returnLeases: (returned) => stub.returnLeases(returned),
    };
    const isolate = new AdmissionLeases();
    const live = liveIsolate();
    expect(await isolate.admit(slowFirst, input, {}, live.defer)).toMatchObject({ admitted: true });
    // Admitted from a second lease: the first had ended when it arrived, and was given back unused.
    expect(calls).toBe(2);
    vi.setSystemTime(Date.now() + LEASE_LIFETIME_MS);
    await live.settled();
    await leasesSettled(tenant.id);
    expect(await usageOf(tenant.id)).toMatchObject({ requests: 1 });
  });

  it("makes about one call to the object per lease, not per request, for a tenant used from one isolate", async () => {
    const { tenant } = await newTenant("pro");
    const input = admitInput(tenant.id, "pro").tenant;
    const { grantor, calls } = grantorFor(tenant.id);
    const isolate = new AdmissionLeases();
    const live = liveIsolate();
    // The clock stands still, so no lease expires while the machine is slow: calls are counted per lease alone.
    vi.useFakeTimers({ toFake: ["Date"] });
    for (let i = 0; i < 50; i++) {
      expect(await isolate.admit(grantor, input, {}, live.defer)).toMatchObject({ admitted: true });
    }
    // A pro tenant's leases hold 10 requests: 50 requests use 5 leases, each asked for ahead, in the background,
    // when the one before was three-quarters spent (and settling the one before that); the 6th was granted ahead
    // of a need that did not come.
    expect(calls).toEqual({ lease: 6, returnLeases: 0 });
    vi.setSystemTime(Date.now() + LEASE_LIFETIME_MS);
    await live.settled();
    // The last lease, and the one granted ahead of it, are returned at their expiry: one more call, or two.
    expect(calls.lease).toBe(6);
    expect(calls.returnLeases).toBeGreaterThanOrEqual(1);
    expect(calls.returnLeases).toBeLessThanOrEqual(2);
    expect(await usageOf(tenant.id)).toMatchObject({ requests: 50 });
    expect(await outstandingRequestUnits(tenant.id)).toBe(0);
  });

  it("renews ahead in the background: the requests that come while the renewal is on its way do not wait for it", async () => {
    const { tenant } = await newTenant("pro");
    const input = admitInput(tenant.id, "pro").tenant;
    const stub = env.TENANT_DO.getByName(tenant.id);
    // The object's answer to every call after the first is held back until the test lets it through.
    let release: () => void = () => {};
    const held = new Promise<void>((done) => {
      release = done;
    });
    let calls = 0;
    const slow: LeaseGrantor = {
      lease: async (leaseInput) => {
        calls += 1;
        if (calls > 1) await held;
        return stub.lease(leaseInput);
      },
      returnLeases: (returned) => stub.returnLeases(returned),
    };
    const isolate = new AdmissionLeases();
    const live = liveIsolate();
    vi.useFakeTimers({ toFake: ["Date"] });
    // The first lease holds 10 requests; from the 8th (three-quarters spent) the next one is asked for ahead.
    for (let i = 0; i < 10; i++) {
      expect(await isolate.admit(slow, input, {}, live.defer)).toMatchObject({ admitted: true });
    }
    // All 10 were admitted while that call was still held back: none of them waited for it.
    expect(calls).toBe(2);
    release();
    // The 11th request finds the lease granted ahead: no call of its own.
    await vi.waitFor(async () => expect(await outstandingRequestUnits(tenant.id)).toBe(20));
    expect(await isolate.admit(slow, input, {}, live.defer)).toMatchObject({ admitted: true });
    expect(calls).toBe(2);
    vi.setSystemTime(Date.now() + LEASE_LIFETIME_MS);
    await live.settled();
    await leasesSettled(tenant.id);
    expect(await usageOf(tenant.id)).toMatchObject({ requests: 11 });
  });

  it("reconciles a lease its isolate died holding at expiry: never handed out again, counted in full", async () => {
    const { tenant } = await newTenant("free");
    const input = admitInput(tenant.id).tenant;
    const { grantor } = grantorFor(tenant.id);
    vi.useFakeTimers({ toFake: ["Date"] });
    const dying = new AdmissionLeases();
    // A dead isolate runs nothing after its death: its `waitUntil` work (the return at expiry) is lost too.
    const dropped = () => {};
    for (let i = 0; i < 4; i++)
      expect(await dying.admit(grantor, input, {}, dropped)).toMatchObject({ admitted: true });
    // The free plan's first lease is 6 requests (a tenth of 60); 4 were used when the isolate died.
    expect(await outstandingRequestUnits(tenant.id)).toBe(6);

    // Another isolate meanwhile: the dead one's lease still counts, so never more than 60 in the window.
    const other = new AdmissionLeases();
    const live = liveIsolate();
    const burst = await Promise.all(Array.from({ length: 80 }, () => other.admit(grantor, input, {}, live.defer)));
    expect(burst.filter((result) => result.admitted).length).toBe(54);

    // Past expiry and the grace period for a settlement in flight, the alarm reconciles it.
    vi.setSystemTime(Date.now() + LEASE_LIFETIME_MS + EXPIRY_GRACE_MS);
    await live.settled();
    expect(await runDurableObjectAlarm(env.TENANT_DO.getByName(tenant.id))).toBe(true);
    expect(await outstandingRequestUnits(tenant.id)).toBe(0);
    // 54 admitted by the live isolate, settled exactly; the dead one's 4 admitted are counted, and so are the
    // 2 it never used: the object cannot tell them apart and must not give back what may have been used.
    expect(await usageOf(tenant.id)).toMatchObject({ requests: 54 + 6 });
    expect(await env.TENANT_DO.getByName(tenant.id).rateLimitStatus()).toMatchObject({ used: 60 });
  });

  it("moves the terms version on a change, so the renewal after it is granted under the new terms", async () => {
    const { tenant } = await newTenant("free");
    const stub = env.TENANT_DO.getByName(tenant.id);
    const ask = (settle: LeaseInput["settle"] = []) =>
      stub.lease({ tenant: admitInput(tenant.id).tenant, settle, requests: true, toolCalls: false });
    const first = await ask();
    if (!first.granted) throw new Error("expected a lease");
    expect(first.lease).toMatchObject({ requests: 6, rateLimit: { limit: 60 } });

    const patched = await workerFetch(`/api/tenants/${tenant.id}`, {
      method: "PATCH",
      headers: ADMIN,
      body: JSON.stringify({ rate_limit_override: 2 }),
    });
    expect(patched.status).toBe(200);
    // The lease held is settled with one request used; the renewal is under the override: 1 of 2 left.
    const renewed = await ask([{ id: first.lease.id, requests: 1, toolCalls: 0 }]);
    if (!renewed.granted) throw new Error("expected a lease");
    expect(renewed.lease.version).toBeGreaterThan(first.lease.version);
    expect(renewed.lease).toMatchObject({ requests: 1, rateLimit: { limit: 2, source: "override", used: 1 } });
    expect(await ask()).toMatchObject({ granted: false, refusal: { reason: "rate_limited" } });
  });

  it("fails closed when the object cannot be reached, and settles the lease it held on the next call", async () => {
    const { tenant } = await newTenant("pro");
    const input = admitInput(tenant.id, "pro").tenant;
    const { grantor } = grantorFor(tenant.id);
    const isolate = new AdmissionLeases();
    vi.useFakeTimers({ toFake: ["Date"] });
    const never = () => {};
    for (let i = 0; i < 3; i++) await isolate.admit(grantor, input, {}, never);
    vi.setSystemTime(Date.now() + LEASE_LIFETIME_MS);

    const unreachable: LeaseGrantor = {
      lease: () => Promise.reject(new Error("network connection lost")),
      returnLeases: () => Promise.reject(new Error("network connection lost")),
    };
    // No lease, no admission: the Worker answers this rejection with 503 and Retry-After (workers/admission.ts).
    await expect(isolate.admit(unreachable, input, {}, never)).rejects.toThrow("network connection lost");

    expect(await isolate.admit(grantor, input, {}, never)).toMatchObject({ admitted: true });
    // The expired lease's 3 requests reached the usage counters with that call, its unused 7 went back.
    expect(await usageOf(tenant.id)).toMatchObject({ requests: 3 });
    expect(await env.TENANT_DO.getByName(tenant.id).rateLimitStatus()).toMatchObject({ used: 3 + 10 });
  });

  it("charges tool calls from the lease and refuses them once the quota has no room", async () => {
    const { tenant } = await newTenant("free");
    const input = admitInput(tenant.id).tenant;
    const { grantor, calls } = grantorFor(tenant.id);
    await runInDurableObject(env.TENANT_DO.getByName(tenant.id), (_instance, state) => {
      const period = new Date().toISOString().slice(0, 7);
      state.storage.sql.exec("INSERT INTO usage_counters (period, tool_calls, version) VALUES (?, 9997, 1)", period);
    });
    const isolate = new AdmissionLeases();
    const live = liveIsolate();
    const charged = [];
    for (let i = 0; i < 5; i++) {
      const admitted = await isolate.admit(grantor, input, { toolCall: true }, live.defer);
      if (!admitted.admitted) {
        expect(admitted).toMatchObject({ reason: "quota_exceeded", quota: { limit: 10_000 } });
        continue;
      }
      charged.push(await isolate.charge(grantor, input, live.defer));
    }
    expect(charged.filter((result) => result.charged)).toHaveLength(3);
    await live.settled();
    await leasesSettled(tenant.id);
    expect(await usageOf(tenant.id)).toMatchObject({ toolCalls: 10_000 });
    expect(calls.lease).toBeLessThan(5 + 5);
  });

  it("counts a refused request once: charging an admitted tools/call while a refusal is remembered counts nothing more", async () => {
    const { tenant } = await newTenant("free");
    const input = admitInput(tenant.id).tenant;
    const { grantor } = grantorFor(tenant.id);
    const isolate = new AdmissionLeases();
    const live = liveIsolate();
    vi.useFakeTimers({ toFake: ["Date"] });
    // The window's 60 tools/calls are admitted (their charge comes later, once each has been read), and a 61st
    // is refused: the object counts that refusal, and the isolate remembers it for the requests that follow.
    for (let i = 0; i < 60; i++) {
      expect(await isolate.admit(grantor, input, { toolCall: true }, live.defer)).toMatchObject({ admitted: true });
    }
    expect(await isolate.admit(grantor, input, { toolCall: true }, live.defer)).toMatchObject({
      admitted: false,
      reason: "rate_limited",
    });
    // An admitted call is charged while the refusal is remembered: it runs, and is no refused request.
    // Until 2026-12-07 the charge read the remembered refusal through the path that counts requests answered
    // from it, so usage showed one refusal more than clients saw (a 300 s soak: 76,340 against 76,339).
    expect(await isolate.charge(grantor, input, live.defer)).toMatchObject({ charged: true });
    vi.setSystemTime(Date.now() + LEASE_LIFETIME_MS);
    await live.settled();
    await leasesSettled(tenant.id);
    expect(await usageOf(tenant.id)).toMatchObject({ requests: 60, toolCalls: 1, rateLimited: 1 });
  });

  it("serves /api/me from a lease: the object is not called again within the lease", async () => {
    const { tenant, apiKey } = await newTenant("pro");
    vi.useFakeTimers({ toFake: ["Date"] });
    const first = await workerFetch("/api/me", { headers: asTenant(apiKey.key) });
    expect(first.status).toBe(200);
    // The object counted the whole lease at grant; the requests admitted from it do not move the window.
    const window = await env.TENANT_DO.getByName(tenant.id).rateLimitStatus();
    expect(window).toMatchObject({ used: 10 });
    for (let i = 0; i < 5; i++) {
      const response = await workerFetch("/api/me", { headers: asTenant(apiKey.key) });
      expect(response.status).toBe(200);
      expect(response.headers.get("x-ratelimit-remaining")).toBe(String(300 - 2 - i));
    }
    expect(await env.TENANT_DO.getByName(tenant.id).rateLimitStatus()).toMatchObject({ used: 10 });
    vi.setSystemTime(Date.now() + LEASE_LIFETIME_MS);
    await leasesSettled(tenant.id);
    expect(await usageOf(tenant.id)).toMatchObject({ requests: 6 });
  });
});
