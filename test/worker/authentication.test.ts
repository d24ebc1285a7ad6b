import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { encryptToken, generateEncryptionKey } from "../../shared/crypto/token-encryption";
import { managementDb, newTenant } from "./support";

const base = "http://muninn.test";

function me(key: string, headers: Record<string, string> = {}) {
  return exports.default.fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${key}`, ...headers } });
}

/** Every line the Worker logs while `run` runs, parsed. */
async function logsOf(
  run: () => Promise<void>,
): Promise<{ level: string; message: string; [field: string]: unknown }[]> {
  const lines: string[] = [];
  const capture = (line: unknown) => void lines.push(String(line));
  const spies = [
    vi.spyOn(console, "log").mockImplementation(capture),
    vi.spyOn(console, "warn").mockImplementation(capture),
    vi.spyOn(console, "error").mockImplementation(capture),
  ];
  try {
    await run();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return lines.flatMap((line) => {
    try {
      return [JSON.parse(line)];
    } catch {
      return [];
    }
  });
}

afterEach(() => {
  vi.useRealTimers();
});

describe("authentication fails closed", () => {
  it("answers 500 with the real cause logged when a tenant's database token no longer decrypts", async () => {
    const { tenant, apiKey } = await newTenant();
    expect((await me(apiKey.key)).status).toBe(200);
    // As after a DB_TOKEN_ENCRYPTION_KEY rotation that missed this row.
    const foreign = await encryptToken(generateEncryptionKey(), "some-token");
    await managementDb().execute({
      sql: "UPDATE tenant_databases SET auth_token_encrypted = ? WHERE tenant_id = ?",
      args: [foreign, tenant.id],
    });

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
