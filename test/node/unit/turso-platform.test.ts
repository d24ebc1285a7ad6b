import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase, createDatabaseToken, PlatformApiError } from "../../../shared/tenants/turso-platform";

/** A Platform API stand-in whose answers each test sets: the shapes a broken upstream or proxy sends. */
let answer: { status: number; body: string } = { status: 200, body: "{}" };
let server: Server;
let turso: { apiUrl: string; apiToken: string; org: string; group: string; dbUrlScheme: "http" };

beforeAll(async () => {
  server = createServer((_req, res) =>
    res.writeHead(answer.status, { "content-type": "application/json" }).end(answer.body),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  turso = {
    apiUrl: `http://127.0.0.1:${port}`,
    apiToken: "secret-token",
    org: "acme",
    group: "default",
    dbUrlScheme: "http",
  };
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function refusal(promise: Promise<unknown>): Promise<PlatformApiError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PlatformApiError);
  return error as PlatformApiError;
}

describe("Turso Platform API answers", () => {
  it("provisions from a well-formed answer", async () => {
    answer = { status: 200, body: JSON.stringify({ database: { Name: "t-1", Hostname: "t-1.example.turso.io" } }) };
    await expect(createDatabase(turso, 2_000, "t-1")).resolves.toEqual({
      name: "t-1",
      hostname: "t-1.example.turso.io",
      url: "http://t-1.example.turso.io/",
    });
  });

  it("refuses a 200 whose shape is not a database, instead of storing an undefined hostname", async () => {
    answer = { status: 200, body: JSON.stringify({ database: { Name: "t-1" } }) };
    const error = await refusal(createDatabase(turso, 2_000, "t-1"));
    expect(error.status).toBe(502);
    expect(error.message).toMatch(/unexpected shape/);
  });

  it("refuses a 200 that is not JSON (a proxy's error page) and a token answer without a token", async () => {
    answer = { status: 200, body: "<html>gateway</html>" };
    expect((await refusal(createDatabase(turso, 2_000, "t-1"))).status).toBe(502);
    answer = { status: 200, body: JSON.stringify({ jwt: "" }) };
    expect((await refusal(createDatabaseToken(turso, 2_000, "t-1"))).status).toBe(502);
  });

  it("names Turso's own error and keeps the status, never the token it was sent", async () => {
    answer = { status: 409, body: JSON.stringify({ error: "database already exists" }) };
    const error = await refusal(createDatabase(turso, 2_000, "t-1"));
    expect(error.status).toBe(409);
    expect(error.message).toContain("database already exists");
    expect(error.message).not.toContain("secret-token");
  });
});
