import { afterEach, describe, expect, it, vi } from "vitest";
import { encryptToken, generateEncryptionKey } from "../../shared/crypto/token-encryption";
import { asTenant, logsOf, newTenant, openMgmtDb, workerFetch } from "./support";

function me(key: string, headers: Record<string, string> = {}) {
  return workerFetch("/api/me", { headers: asTenant(key, headers) });
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** A well-formed API key nobody issued. */
function unknownKey(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = crypto.getRandomValues(new Uint8Array(40));
  return `mk_${Array.from(bytes, (byte) => alphabet[byte % alphabet.length]).join("")}`;
}

/** Counts the Hrana requests the Worker sends to the management DB from now on. */
function countManagementQueries(): () => number {
  const fetchSpy = vi.spyOn(globalThis, "fetch");
  return () =>
    fetchSpy.mock.calls.filter(([input]) => {
      const url = input instanceof Request ? input.url : String(input);
      return url.includes("/management/");
    }).length;
}

function randomIp(): string {
  return `203.0.113.${Math.floor(Math.random() * 250)}-${crypto.randomUUID().slice(0, 6)}`;
}

describe("anonymous callers", () => {
  it("answers a repeated unknown key from a short negative cache, without another query", async () => {
    const key = unknownKey();
    const queries = countManagementQueries();
    expect((await me(key)).status).toBe(401);
    const afterFirst = queries();
    expect(afterFirst).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) expect((await me(key)).status).toBe(401);
    expect(queries()).toBe(afterFirst);
  });

  it("refuses an address with 429 after 30 bad keys a minute, at no database cost, and spares good keys and other addresses", async () => {
    const { apiKey } = await newTenant();
    const ip = randomIp();
    const from = { "cf-connecting-ip": ip };
    expect((await me(apiKey.key, from)).status).toBe(200);

    const statuses: number[] = [];
    for (let i = 0; i < 31; i++) statuses.push((await me(unknownKey(), from)).status);
    expect(statuses.slice(0, 30)).toEqual(Array(30).fill(401));
    expect(statuses[30]).toBe(429);

    const queries = countManagementQueries();
    const refused = await me(unknownKey(), from);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ error: { type: "rate_limited", code: "rate_limit_exceeded" } });
    expect(queries()).toBe(0);

    // A key this isolate already verified keeps working from that address; other addresses are untouched.
    expect((await me(apiKey.key, from)).status).toBe(200);
    expect((await me(unknownKey(), { "cf-connecting-ip": randomIp() })).status).toBe(401);
  });
});

describe("authentication fails closed", () => {
  it("answers 500 with the real cause logged when a tenant's database token no longer decrypts", async () => {
    const { tenant, apiKey } = await newTenant();
    expect((await me(apiKey.key)).status).toBe(200);
    // As after a DB_TOKEN_ENCRYPTION_KEY rotation that missed this row.
    const foreign = await encryptToken(generateEncryptionKey(), "some-token", tenant.id);
    await openMgmtDb().execute(
      {
        sql: "UPDATE tenant_databases SET auth_token_encrypted = ? WHERE tenant_id = ?",
        args: [foreign, tenant.id],
      },
      "write",
    );

    // Past the cache's freshness the key is re-read; the stale entry must not paper over the failure.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 61_000);
    let response: Response | undefined;
    const logs = await logsOf(async () => {
      response = await me(apiKey.key);
    });
    expect(response?.status).toBe(500);
    expect(response?.headers.get("retry-after")).toBeNull();
    expect(await response?.json()).toEqual({
      error: { type: "internal", code: "internal", message: "internal error" },
    });
    expect(logs.some((line) => line.message === "Cannot connect to management database")).toBe(false);
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: "error",
        errorMessage: expect.stringContaining(`tenant ${tenant.id}: its database token does not decrypt`),
      }),
    );
  });
});
