import { createExecutionContext, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../../workers/app";
import { ipRateLimit } from "../../workers/middleware/ip-rate-limit";

// The unauthenticated endpoints (signup, login, OAuth) arrive with their own
// features; this app mounts the limiter the way they will.
const app = createApp();
app.post("/test/signup", ipRateLimit("test-signup", 3), (c) => c.json({ ok: true }));

async function signup(ip: string): Promise<Response> {
  return app.request(
    "/test/signup",
    { method: "POST", headers: { "cf-connecting-ip": ip } },
    env,
    createExecutionContext(),
  );
}

function randomIp() {
  return `198.51.100.${Math.floor(Math.random() * 250)}-${crypto.randomUUID().slice(0, 4)}`;
}

afterEach(() => {
  vi.useRealTimers();
});

describe("per-IP rate limit for unauthenticated endpoints", () => {
  it("refuses an address past its limit with 429 and Retry-After, without affecting other addresses", async () => {
    const ip = randomIp();
    for (let i = 0; i < 3; i++) {
      const response = await signup(ip);
      expect(response.status).toBe(200);
      expect(response.headers.get("ratelimit-policy")).toBe('"ip";q=3;w=60');
    }
    const refused = await signup(ip);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ error: { type: "rate_limited", code: "rate_limit_exceeded" } });

    expect((await signup(randomIp())).status).toBe(200);
  });

  it("is exact under concurrency", async () => {
    const ip = randomIp();
    const statuses = await Promise.all(Array.from({ length: 20 }, () => signup(ip).then((r) => r.status)));
    expect(statuses.filter((status) => status === 200)).toHaveLength(3);
    expect(statuses.filter((status) => status === 429)).toHaveLength(17);
  });

  it("keeps counting until the window empties, then leaves no storage behind", async () => {
    const ip = randomIp();
    await signup(ip);
    const stub = env.IP_LIMITER_DO.getByName(`test-signup:${ip}`);
    const tables = () =>
      runInDurableObject(stub, (_instance, state) =>
        state.storage.sql
          .exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'")
          .toArray()
          .map((row) => row.name),
      );

    // An alarm that fires early must not forget the address.
    await runDurableObjectAlarm(stub);
    expect(await tables()).toContain("ip_rate_limit_slots");
    for (let i = 0; i < 2; i++) expect((await signup(ip)).status).toBe(200);
    expect((await signup(ip)).status).toBe(429);

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 62_000);
    await runDurableObjectAlarm(stub);
    expect(await tables()).toEqual([]);

    // The same live object takes the address's next requests on a fresh window.
    for (let i = 0; i < 3; i++) expect((await signup(ip)).status).toBe(200);
    expect((await signup(ip)).status).toBe(429);
  });
});
