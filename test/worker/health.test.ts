import { describe, expect, it } from "vitest";
import { workerFetch } from "./support";

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

  it("answers unknown routes with a JSON 404", async () => {
    const response = await workerFetch("/nope");
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { type: "not_found" } });
  });
});
