import { describe, expect, it } from "vitest";
import { fromBase64, toBase64 } from "../../shared/crypto/encoding";
import { decryptToken, encryptToken } from "../../shared/crypto/token-encryption";
import { bindTenantTokens } from "../../shared/migrations/migrate-databases";
import { getTenantDatabase } from "../../shared/tenants/tenants";
import { callOk, connect, post } from "./mcp-support";
import { asTenant, config, logsOf, newTenant, openMgmtDb, workerFetch } from "./support";

async function record(tenantId: string) {
  const found = await getTenantDatabase(openMgmtDb(), config, tenantId);
  if (!found) throw new Error(`no database for ${tenantId}`);
  return found;
}

async function storedToken(tenantId: string): Promise<string> {
  const rows = await openMgmtDb().execute(
    { sql: "SELECT auth_token_encrypted FROM tenant_databases WHERE tenant_id = ?", args: [tenantId] },
    "read",
  );
  return String(rows.rows[0]?.auth_token_encrypted);
}

async function pointAt(tenantId: string, url: string, encrypted: string) {
  await openMgmtDb().execute(
    {
      sql: "UPDATE tenant_databases SET url = ?, auth_token_encrypted = ? WHERE tenant_id = ?",
      args: [url, encrypted, tenantId],
    },
    "write",
  );
}

/** The unbound form earlier builds wrote: AES-GCM without associated data. */
async function legacyEncrypt(token: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", fromBase64(config.dbTokenEncryptionKey), "AES-GCM", false, [
    "encrypt",
  ]);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, new TextEncoder().encode(token));
  return `v1.${toBase64(iv)}.${toBase64(new Uint8Array(ciphertext))}`;
}

const listCall = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "list", arguments: {} } };

/** Two tenants; the second has a memory the first must never see. */
async function twoTenants() {
  const victim = await newTenant();
  const client = await connect(victim.apiKey.key, "modern");
  await callOk(client, "remember", { content: "the victim's private note" });
  await client.close();
  const other = await newTenant();
  return { victim, other };
}

describe("tenant database isolation", () => {
  it("refuses another tenant's token ciphertext moved into a tenant's record: it does not decrypt", async () => {
    const { victim, other } = await twoTenants();
    const theirs = await record(victim.tenant.id);
    await pointAt(other.tenant.id, theirs.url, await storedToken(victim.tenant.id));

    let response: Response | undefined;
    const logs = await logsOf(async () => {
      response = await post(other.apiKey.key, listCall);
    });
    expect(response?.status).toBe(500);
    expect(await response?.text()).not.toContain("private note");
    expect(logs).toContainEqual(
      expect.objectContaining({
        errorMessage: expect.stringContaining(`tenant ${other.tenant.id}: its database token`),
      }),
    );
  });

  it("refuses a record that points at another tenant's database, checked against its tenant_meta", async () => {
    const { victim, other } = await twoTenants();
    const theirs = await record(victim.tenant.id);
    // A misrouting that passes decryption: the right token for the wrong database, bound to this tenant.
    await pointAt(
      other.tenant.id,
      theirs.url,
      await encryptToken(config.dbTokenEncryptionKey, theirs.coordinates.authToken, other.tenant.id),
    );

    let response: Response | undefined;
    const logs = await logsOf(async () => {
      response = await post(other.apiKey.key, listCall);
    });
    const text = (await response?.text()) ?? "";
    expect(text).not.toContain("private note");
    expect(text).toContain("internal error");
    expect(logs).toContainEqual(
      expect.objectContaining({
        errorName: "MisroutedDatabaseError",
        errorMessage: `the database configured for tenant ${other.tenant.id} belongs to tenant ${victim.tenant.id}; refusing to use it`,
      }),
    );
    // Requests that need no tenant database are unaffected.
    const me = await workerFetch("/api/me", { headers: asTenant(other.apiKey.key) });
    expect(me.status).toBe(200);
  });

  it("binds tokens stored in the earlier unbound form to their tenant, once", async () => {
    const { tenant, apiKey } = await newTenant();
    const plain = (await record(tenant.id)).coordinates.authToken;
    await openMgmtDb().execute(
      {
        sql: "UPDATE tenant_databases SET auth_token_encrypted = ? WHERE tenant_id = ?",
        args: [await legacyEncrypt(plain), tenant.id],
      },
      "write",
    );
    // Still served during the transition.
    expect((await post(apiKey.key, listCall)).status).toBe(200);

    expect(await bindTenantTokens(openMgmtDb(), config)).toBeGreaterThanOrEqual(1);
    const bound = await storedToken(tenant.id);
    expect(bound).toMatch(/^v2\./);
    expect(await decryptToken(config.dbTokenEncryptionKey, bound, tenant.id)).toBe(plain);
    await expect(decryptToken(config.dbTokenEncryptionKey, bound, "t-someone-else")).rejects.toThrow();

    await bindTenantTokens(openMgmtDb(), config);
    expect(await storedToken(tenant.id)).toBe(bound);
  });
});
