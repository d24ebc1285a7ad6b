import { describe, expect, it } from "vitest";
import { openDatabase } from "../../shared/db/client";
import { getTenantDatabase } from "../../shared/tenants/tenants";
import { callOk, connect as connectMcp, type Era } from "./mcp-support";
import { connect as connectOAuth, newAccount, registerClient } from "./oauth-support";
import { config, openMgmtDb } from "./support";

async function tenantDb(tenantId: string) {
  const record = await getTenantDatabase(openMgmtDb(), config, tenantId);
  if (!record) throw new Error(`no database for ${tenantId}`);
  return openDatabase(record.coordinates, config.dbTimeoutMs);
}

const column = async (tenantId: string, sql: string, args: string[]) =>
  JSON.parse(String((await (await tenantDb(tenantId)).execute({ sql, args }, "read")).rows[0]?.value ?? "null"));

describe("attribution: who wrote each memory, version, link and issue change", () => {
  for (const era of ["legacy", "modern"] as Era[]) {
    it(`an API key's writes name its account, the key and the MCP client (${era} era)`, async () => {
      const account = await newAccount();
      const keyName = String(
        (
          await openMgmtDb().execute(
            { sql: "SELECT name FROM api_keys WHERE tenant_id = ?", args: [account.tenantId] },
            "read",
          )
        ).rows[0]?.name,
      );
      const client = await connectMcp(account.apiKey, era);
      const saved = await callOk<{ results: { id: string }[] }>(client, "remember", { content: "Written by a key." });
      const id = saved.results[0]?.id ?? "";
      const expected = {
        account: account.userId,
        via: { kind: "key", name: keyName },
        client: { name: `test-${era}`, version: "1.0.0" },
      };
      expect(await column(account.tenantId, "SELECT written_by AS value FROM memories WHERE id = ?", [id])).toEqual(
        expected,
      );
      const got = await callOk<{ memories: { written_by?: unknown }[] }>(client, "get", { ids: [id] });
      expect(got.memories[0]?.written_by).toEqual(expected);
      const recalled = await callOk<{ results: { id: string; by?: string }[] }>(client, "recall", {
        query: "written key",
      });
      expect(recalled.results.map((hit) => [hit.id, hit.by])).toEqual([[id, `key “${keyName}” via test-${era} 1.0.0`]]);

      // An update: the new version is the key's, and the replaced one keeps its own author.
      await callOk(client, "update", { id, content: "Rewritten by the same key." });
      expect(
        await column(
          account.tenantId,
          "SELECT written_by AS value FROM memory_versions WHERE memory_id = ? AND version = 1",
          [id],
        ),
      ).toEqual(expected);
      const other =
        (await callOk<{ results: { id: string }[] }>(client, "remember", { content: "Another one." })).results[0]?.id ??
        "";
      await callOk(client, "link", { from_id: id, to_id: other, relation: "relates_to" });
      expect(
        await column(account.tenantId, "SELECT created_by AS value FROM memory_links WHERE from_id = ?", [id]),
      ).toEqual(expected);
      const issue = await callOk<{ id: string }>(client, "track", { action: "add", title: "Needs an owner" });
      await callOk(client, "track", { action: "resolve", id: issue.id, resolution: "found one" });
      expect(
        await column(account.tenantId, "SELECT changed_by AS value FROM memories WHERE id = ?", [issue.id]),
      ).toEqual(expected);
      await callOk(client, "forget", { ids: [other] });
      expect(await column(account.tenantId, "SELECT changed_by AS value FROM memories WHERE id = ?", [other])).toEqual(
        expected,
      );
    });
  }

  it("an OAuth app's writes name the signed-in account and the app's registered name", async () => {
    const account = await newAccount();
    const redirectUri = "http://127.0.0.1:7777/callback";
    const { client_id } = await registerClient({ client_name: "Notes App", redirect_uris: [redirectUri] });
    const { tokens } = await connectOAuth(account, { clientId: client_id, redirectUri });
    const client = await connectMcp(tokens.access_token, "legacy");
    const saved = await callOk<{ results: { id: string }[] }>(client, "remember", {
      content: "Written through an app.",
    });
    expect(
      await column(account.tenantId, "SELECT written_by AS value FROM memories WHERE id = ?", [
        saved.results[0]?.id ?? "",
      ]),
    ).toEqual({
      account: account.userId,
      via: { kind: "app", name: "Notes App" },
      client: { name: "test-legacy", version: "1.0.0" },
    });
  });

  it("recall names no author for a memory written before attribution", async () => {
    const account = await newAccount();
    const client = await connectMcp(account.apiKey, "modern");
    const saved = await callOk<{ results: { id: string }[] }>(client, "remember", { content: "Older than v4." });
    const id = saved.results[0]?.id ?? "";
    // As a row from before tenant DB v4 is: no author recorded.
    await (await tenantDb(account.tenantId)).execute(
      { sql: "UPDATE memories SET written_by = NULL WHERE id = ?", args: [id] },
      "write",
    );
    const recalled = await callOk<{ results: Record<string, unknown>[] }>(client, "recall", { query: "older" });
    expect(recalled.results.map((hit) => hit.id)).toEqual([id]);
    expect(recalled.results[0]).not.toHaveProperty("by");
    const got = await callOk<{ memories: Record<string, unknown>[] }>(client, "get", { ids: [id] });
    expect(got.memories[0]).not.toHaveProperty("written_by");
  });
});
