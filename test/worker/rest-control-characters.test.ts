import { describe, expect, it } from "vitest";
import { newAccount } from "./oauth-support";
import { ADMIN, openMgmtDb, workerFetch } from "./support";

/**
 * One validator (`workers/api/validation.ts`, over `shared/text.ts`) refuses
 * NUL and every other control character in every text field of every REST
 * route, body or query, before anything is stored — a NUL used to be stored
 * and read back cut off ("evil\u0000org" as "evil").
 */

const BASE = "http://localhost";
const IP = `203.0.113.${Math.floor(Math.random() * 250)}`;

async function expectRefused(response: Response, field: string) {
  expect(response.status).toBe(400);
  const body = (await response.json()) as { error: { type: string; code: string; message: string } };
  expect(body.error).toMatchObject({ type: "invalid_request", code: "control_character" });
  expect(body.error.message).toMatch(new RegExp(`^${field.replace(".", "\\.")}: must not contain control characters`));
}

async function count(sql: string, args: string[]): Promise<number> {
  return Number((await openMgmtDb().execute({ sql, args }, "read")).rows[0]?.n);
}

describe("control characters in REST fields", () => {
  it("signup refuses NUL, line breaks and other controls in org_name, email and password; nothing is created", async () => {
    for (const [field, value] of [
      ["org_name", "evil\u0000org<script>"],
      ["org_name", "two\nlines"],
      ["org_name", "bell\u0007"],
      ["org_name", "c1\u0085control"],
      ["org_name", "Evil\u202eppA"],
      ["email", "a\u0000@example.test"],
      ["password", "\u0000".repeat(12)],
    ] as const) {
      const email = `ctl-${crypto.randomUUID().slice(0, 8)}@example.test`;
      const body = { email, password: "a long enough passphrase", org_name: "Fine Org", [field]: value };
      const response = await workerFetch(`${BASE}/api/signup`, {
        method: "POST",
        headers: { "content-type": "application/json", "cf-connecting-ip": IP },
        body: JSON.stringify(body),
      });
      await expectRefused(response, field);
      expect(await count("SELECT COUNT(*) AS n FROM users WHERE email = ?", [body.email])).toBe(0);
    }
  });

  it("key names, admin fields and query parameters are held to the same rule", async () => {
    const owner = await newAccount();
    const tenant = { id: owner.tenantId };
    const auth = { authorization: `Bearer ${owner.apiKey}`, "content-type": "application/json" };
    const key = await workerFetch(`${BASE}/api/keys`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ name: "a\u0000b", scopes: ["mcp:read"] }),
    });
    await expectRefused(key, "name");
    expect(await count("SELECT COUNT(*) AS n FROM api_keys WHERE tenant_id = ?", [tenant.id])).toBe(1);

    const created = await workerFetch(`${BASE}/api/tenants`, {
      method: "POST",
      headers: ADMIN,
      body: JSON.stringify({ org_name: "tab\there", email: `ctl-${crypto.randomUUID().slice(0, 8)}@example.test` }),
    });
    await expectRefused(created, "org_name");

    const search = await workerFetch(`${BASE}/api/tenants?q=${encodeURIComponent("a\u0000b")}`, { headers: ADMIN });
    await expectRefused(search, "q");

    const deletion = await workerFetch(`${BASE}/api/account`, {
      method: "DELETE",
      headers: auth,
      body: JSON.stringify({ confirm: `${tenant.id}\u0000` }),
    });
    await expectRefused(deletion, "confirm");
    expect(await count("SELECT COUNT(*) AS n FROM tenants WHERE id = ? AND status != 'deleted'", [tenant.id])).toBe(1);
  });

  it("ordinary text, including non-Latin letters and emoji, still passes", async () => {
    const owner = await newAccount();
    const response = await workerFetch(`${BASE}/api/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${owner.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Ünïcødé ключ 鍵 🔑", scopes: ["mcp:read"] }),
    });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ name: "Ünïcødé ключ 鍵 🔑" });
  });
});
