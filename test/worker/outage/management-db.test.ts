import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { asTenant, METRICS_AUTH, newTenant, workerFetch } from "../support";
import { database, eventually } from "./support";

/** The scrape's readiness gauges. */
async function gauges(): Promise<Record<string, number>> {
  const response = await workerFetch("/metrics", { headers: METRICS_AUTH });
  expect(response.status).toBe(200);
  const text = await response.text();
  const value = (name: string) => Number(text.match(new RegExp(`^${name} (\\d+)$`, "m"))?.[1]);
  return { management_db_up: value("management_db_up"), muninn_ready: value("muninn_ready") };
}

const usage = (key: string) => workerFetch("/api/usage", { headers: asTenant(key) });

describe("management database outage", () => {
  afterAll(() => database("mgmt", "start"));
  afterEach(() => {
    vi.useRealTimers();
  });

  it("keeps recently seen tenants working, answers the rest 503, and recovers without a restart", async () => {
    const known = await newTenant();
    const unseen = await newTenant();
    expect((await usage(known.apiKey.key)).status).toBe(200);

    await database("mgmt", "stop");

    const health = await workerFetch("/health");
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: "error", checks: { managementDb: "error" } });
    const ready = await workerFetch("/ready");
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ ready: false, reason: "management database unreachable" });
    // What the ManagementDatabaseUnreachable and ReadinessFailing alerts read; the scrape itself still works.
    expect(await gauges()).toEqual({ management_db_up: 0, muninn_ready: 0 });

    // Under load: the known tenant is served from the credential cache; nobody
    // else gets anything but the documented 503 — in particular never a 401.
    const statuses = await Promise.all(
      Array.from({ length: 30 }, (_, i) => usage(i % 3 === 0 ? unseen.apiKey.key : known.apiKey.key)),
    );
    for (const [i, response] of statuses.entries()) {
      if (i % 3 === 0) {
        expect(response.status).toBe(503);
        expect(response.headers.get("retry-after")).toMatch(/^\d+$/);
        expect(await response.json()).toMatchObject({
          error: { type: "unavailable", message: "database unavailable" },
        });
      } else {
        expect(response.status).toBe(200);
      }
    }

    await database("mgmt", "start");

    // The breaker opened during the outage; after its open period one probe closes it.
    await eventually(async () => (await usage(unseen.apiKey.key)).status === 200);
    await eventually(async () => (await workerFetch("/ready")).status === 200);
    const recovered = (await (await workerFetch("/health")).json()) as {
      status: string;
      checks: { circuitBreakers: { managementDb: { state: string } } };
    };
    expect(recovered.checks.circuitBreakers.managementDb.state).toBe("closed");
    expect(recovered.status).toBe("ok");
    expect(await gauges()).toEqual({ management_db_up: 1, muninn_ready: 1 });
  });

  it("is ready again once the database answers and the breaker's open period is over, with no traffic needed", async () => {
    const { apiKey } = await newTenant();
    await database("mgmt", "stop");
    try {
      // Unverified credentials go to the management DB through its breaker, which opens.
      for (let i = 0; i < 6; i++) expect((await usage(apiKey.key)).status).toBe(503);
      const health = (await (await workerFetch("/health")).json()) as {
        checks: { circuitBreakers: { managementDb: { state: string } } };
      };
      expect(health.checks.circuitBreakers.managementDb.state).toBe("open");
    } finally {
      await database("mgmt", "start");
    }
    // Only /ready and scrapes from here on: nothing passes through the breaker to close it.
    await eventually(async () => (await workerFetch("/ready")).status === 200, 5000);
    expect(await gauges()).toEqual({ management_db_up: 1, muninn_ready: 1 });
  });

  it("serves a cached credential for at most 15 minutes after it was last verified, however long the outage", async () => {
    const { apiKey } = await newTenant();
    expect((await usage(apiKey.key)).status).toBe(200);
    await database("mgmt", "stop");
    try {
      const start = Date.now();
      vi.useFakeTimers({ toFake: ["Date"] });
      // Still within the window: served from the cache, and (the point) not re-verified by being served.
      vi.setSystemTime(start + 14 * 60_000);
      expect((await usage(apiKey.key)).status).toBe(200);
      vi.setSystemTime(start + 16 * 60_000);
      const expired = await usage(apiKey.key);
      expect(expired.status).toBe(503);
      expect(await expired.json()).toMatchObject({ error: { message: "database unavailable" } });
    } finally {
      vi.useRealTimers();
      await database("mgmt", "start");
    }
    await eventually(async () => (await usage(apiKey.key)).status === 200);
  });
});
