import { describe, expect, it } from "vitest";
import { ADMIN, asTenant, METRICS_AUTH, newTenant, workerFetch } from "./support";

/**
 * DNS rebinding: a page on evil.example that resolves its name to the local
 * stack makes the browser send `Host: evil.example` (and its Origin). The API
 * and the metrics must refuse such requests as /mcp does.
 */
describe("Host guard on /api and /metrics", () => {
  const foreignHosts = ["evil.example.com", "localhost.evil.example", "evil.example.com:8787", "127.0.0.2"];

  it("refuses /metrics for a Host this deployment does not serve, even with the token", async () => {
    for (const host of foreignHosts) {
      const response = await workerFetch("/metrics", { headers: { ...METRICS_AUTH, host } });
      expect(response.status, host).toBe(403);
      expect(await response.json()).toMatchObject({ error: { type: "forbidden", code: "host_not_allowed" } });
    }
    const served = await workerFetch("/metrics", { headers: { ...METRICS_AUTH, host: "127.0.0.1:8787" } });
    expect(served.status).toBe(200);
  });

  it("refuses tenant and admin /api routes for a foreign Host or a foreign browser Origin", async () => {
    const { apiKey } = await newTenant();
    for (const host of foreignHosts) {
      const tenant = await workerFetch("/api/me", { headers: asTenant(apiKey.key, { host }) });
      expect(tenant.status, host).toBe(403);
      expect(await tenant.json()).toMatchObject({ error: { code: "host_not_allowed" } });
      const admin = await workerFetch("/api/tenants", { headers: { ...ADMIN, host } });
      expect(admin.status, host).toBe(403);
    }
    const signup = await workerFetch("/api/signup", {
      method: "POST",
      headers: { host: "evil.example.com", "content-type": "application/json" },
      body: "{}",
    });
    expect(signup.status).toBe(403);

    const crossOrigin = await workerFetch("/api/me", {
      headers: asTenant(apiKey.key, { origin: "https://evil.example" }),
    });
    expect(crossOrigin.status).toBe(403);
    expect(await crossOrigin.json()).toMatchObject({ error: { code: "host_not_allowed" } });

    // The deployment's own hosts, any port, and its own or a configured origin.
    expect((await workerFetch("/api/me", { headers: asTenant(apiKey.key) })).status).toBe(200);
    expect((await workerFetch("/api/me", { headers: asTenant(apiKey.key, { host: "127.0.0.1:9999" }) })).status).toBe(
      200,
    );
    expect(
      (await workerFetch("/api/me", { headers: asTenant(apiKey.key, { origin: "http://localhost:8787" }) })).status,
    ).toBe(200);
  });

  it("leaves /health alone (load balancers and uptime checks use any name)", async () => {
    expect((await workerFetch("/health", { headers: { host: "evil.example.com" } })).status).toBe(200);
  });
});
