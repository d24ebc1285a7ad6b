import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../../workers/app";

afterEach(() => {
  vi.restoreAllMocks();
});

import { BASE_URL, workerFetch } from "./support";

describe("health and readiness", () => {
  it("reports the management database as ok when it answers", async () => {
    const response = await workerFetch("/health");
    expect(response.status).toBe(200);
    const body = (await response.json()) as { status: string; checks: { managementDb: string } };
    expect(body.status).toBe("ok");
    expect(body.checks.managementDb).toBe("ok");
    expect(response.headers.get("x-request-id")).toMatch(/.+/);
  });

  it("is ready when the management database answers", async () => {
    const response = await workerFetch("/ready");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ready: true });
  });

  it("costs one management-DB query per isolate per interval however many anonymous checks arrive", async () => {
    // The deployed default interval (tests otherwise check on every request).
    const cached = { ...env, HEALTH_CACHE_MS: "2000" };
    const app = createApp();
    const get = async (path: string) => {
      const ctx = createExecutionContext();
      const response = await app.request(`${BASE_URL}${path}`, {}, cached, ctx);
      await waitOnExecutionContext(ctx);
      return response;
    };
    expect((await get("/health")).status).toBe(200);

    const fetchSpy = vi.spyOn(globalThis, "fetch");
    const responses = await Promise.all([
      ...Array.from({ length: 20 }, () => get("/health")),
      ...Array.from({ length: 10 }, () => get("/ready")),
    ]);
    const managementQueries = fetchSpy.mock.calls.filter(([input]) =>
      (input instanceof Request ? input.url : String(input)).includes("/management/"),
    );
    expect(managementQueries.length).toBeLessThanOrEqual(1);
    for (const response of responses) expect(response.status).toBe(200);
    // Every field the runbook reads is still there.
    const body = (await responses[0]?.json()) as { status: string; checks: Record<string, unknown> };
    expect(body.status).toBe("ok");
    expect(body.checks).toMatchObject({ managementDb: "ok", pool: { available: expect.any(Number) } });
    expect(typeof body.checks.mcpSessions).toBe("number");
  });

  it("answers unknown routes with a JSON 404", async () => {
    const response = await workerFetch("/nope");
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { type: "not_found" } });
  });
});
