import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readConfig } from "../../shared/config";
import { CircuitBreaker, CircuitOpenError } from "../../shared/db/circuit-breaker";
import { ConcurrencyPool, PoolExhaustedError } from "../../shared/db/pool";

const down = () => Promise.reject(new Error("connect ECONNREFUSED"));
const up = () => Promise.resolve("ok");
const always = () => true;

function breakerWithClock(options = { failureThreshold: 3, openMs: 30_000, maxOpenMs: 60_000 }) {
  let now = 1_000_000;
  const transitions: string[] = [];
  const probes: string[] = [];
  const breaker = new CircuitBreaker(
    "managementDb",
    options,
    {
      onTransition: (from, to) => transitions.push(`${from}->${to}`),
      onProbe: (result) => probes.push(result),
    },
    () => now,
  );
  return { breaker, transitions, probes, advance: (ms: number) => (now += ms) };
}

describe("circuit breaker", () => {
  it("opens after the configured number of consecutive failures and then fails fast", async () => {
    const { breaker, transitions } = breakerWithClock();
    for (let i = 0; i < 3; i++) await expect(breaker.run(down, always)).rejects.toThrow("ECONNREFUSED");
    expect(breaker.state).toBe("open");
    expect(transitions).toEqual(["closed->open"]);
    let called = false;
    const fast = breaker.run(async () => {
      called = true;
    }, always);
    await expect(fast).rejects.toBeInstanceOf(CircuitOpenError);
    await expect(fast).rejects.toThrow("Circuit breaker is open");
    expect(called).toBe(false);
  });

  it("does not count errors the database answered (bad SQL) as failures", async () => {
    const { breaker } = breakerWithClock();
    for (let i = 0; i < 5; i++) {
      await expect(
        breaker.run(
          () => Promise.reject(new Error("syntax error")),
          () => false,
        ),
      ).rejects.toThrow();
    }
    expect(breaker.state).toBe("closed");
  });

  it("lets one probe through after the open period and closes when it succeeds", async () => {
    const { breaker, transitions, probes, advance } = breakerWithClock();
    for (let i = 0; i < 3; i++) await expect(breaker.run(down, always)).rejects.toThrow();
    advance(30_000);
    await expect(breaker.run(up, always)).resolves.toBe("ok");
    expect(breaker.state).toBe("closed");
    expect(transitions).toEqual(["closed->open", "open->half_open", "half_open->closed"]);
    expect(probes).toEqual(["success"]);
  });

  it("backs off exponentially up to the cap when probes keep failing", async () => {
    const { breaker, advance } = breakerWithClock();
    for (let i = 0; i < 3; i++) await expect(breaker.run(down, always)).rejects.toThrow();
    expect(breaker.snapshot().retryAfterMs).toBe(30_000);
    advance(30_000);
    await expect(breaker.run(down, always)).rejects.toThrow("ECONNREFUSED");
    expect(breaker.snapshot().retryAfterMs).toBe(60_000);
    advance(60_000);
    await expect(breaker.run(down, always)).rejects.toThrow("ECONNREFUSED");
    expect(breaker.snapshot().retryAfterMs).toBe(60_000);
    advance(59_999);
    await expect(breaker.run(up, always)).rejects.toBeInstanceOf(CircuitOpenError);
    advance(1);
    await expect(breaker.run(up, always)).resolves.toBe("ok");
    expect(breaker.snapshot()).toMatchObject({ state: "closed", opens: 0, consecutiveFailures: 0 });
  });

  it("admits a single probe at a time while half-open", async () => {
    const { breaker, advance } = breakerWithClock();
    for (let i = 0; i < 3; i++) await expect(breaker.run(down, always)).rejects.toThrow();
    advance(30_000);
    let release: (value: string) => void = () => {};
    const probe = breaker.run(() => new Promise<string>((resolve) => (release = resolve)), always);
    await expect(breaker.run(up, always)).rejects.toBeInstanceOf(CircuitOpenError);
    release("done");
    await expect(probe).resolves.toBe("done");
    expect(breaker.state).toBe("closed");
  });
});

describe("database pool", () => {
  it("reports available slots and queues callers beyond the cap", async () => {
    const pool = new ConcurrencyPool(2);
    const gates: (() => void)[] = [];
    const hold = () => pool.run(() => new Promise<void>((resolve) => gates.push(resolve)), 1000);
    const first = hold();
    const second = hold();
    await Promise.resolve();
    expect(pool.snapshot(3)).toEqual({ size: 3, max: 2, available: 0, waiting: 0 });
    const third = hold();
    await Promise.resolve();
    expect(pool.snapshot(3).waiting).toBe(1);
    gates.shift()?.();
    await first;
    // The waiter notices the freed slot on its next poll.
    while (gates.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(pool.snapshot(3)).toMatchObject({ available: 0, waiting: 0 });
    for (const gate of gates.splice(0)) gate();
    await Promise.all([second, third]);
    expect(pool.snapshot(0).available).toBe(2);
  });

  it("keeps a second tenant's calls running at once while the first floods past its share", async () => {
    // 8 slots, at most 2 per tenant: tenant a sends 20 calls that do not finish until released.
    // They may wait as long as the test runs (a short wait made it flaky on a loaded machine:
    // queued calls gave up before the end released them).
    const pool = new ConcurrencyPool(8, 2);
    const gates: (() => void)[] = [];
    const flood = Array.from({ length: 20 }, () =>
      pool.run(() => new Promise<void>((resolve) => gates.push(resolve)), 25_000, "tenant-a"),
    );
    await Promise.resolve();
    expect(pool.heldBy("tenant-a")).toBe(2);
    expect(pool.snapshot(0)).toMatchObject({ available: 6, waiting: 18 });

    // Tenant b (up to its own share) and the management DB are not queued behind a's flood: with no
    // wait allowed at all, their calls start and finish while a's are all still held.
    for (let round = 0; round < 3; round++) {
      const b = await Promise.all([0, 1].map((i) => pool.run(async () => i, 0, "tenant-b")));
      expect(b).toEqual([0, 1]);
    }
    await expect(pool.run(up, 0)).resolves.toBe("ok");
    expect(gates).toHaveLength(2);

    // Past its wait, a's excess fails (503 with Retry-After to the client) instead of taking more of the pool.
    await expect(pool.run(up, 20, "tenant-a")).rejects.toThrow(/this tenant holds 2 of 2/);
    while (gates.length > 0 || pool.heldBy("tenant-a") > 0) {
      for (const gate of gates.splice(0)) gate();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await Promise.all(flood);
    expect(pool.snapshot(0)).toMatchObject({ available: 8, waiting: 0 });
  });

  it("gives each tenant a quarter of DB_POOL_MAX unless DB_POOL_TENANT_MAX says otherwise", () => {
    const base = { ...env, DB_POOL_MAX: "64" };
    expect(readConfig(base).dbPoolTenantMax).toBe(16);
    expect(readConfig({ ...base, DB_POOL_TENANT_MAX: "40" }).dbPoolTenantMax).toBe(40);
    expect(readConfig({ ...base, DB_POOL_MAX: "2" }).dbPoolTenantMax).toBe(1);
  });

  it("gives up with a clear error when no slot frees in time", async () => {
    const pool = new ConcurrencyPool(1);
    let release: () => void = () => {};
    const busy = pool.run(() => new Promise<void>((resolve) => (release = resolve)), 1000);
    await expect(pool.run(up, 20)).rejects.toBeInstanceOf(PoolExhaustedError);
    release();
    await busy;
    expect(pool.snapshot(0)).toMatchObject({ available: 1, waiting: 0 });
  });
});
