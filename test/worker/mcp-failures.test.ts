import { describe, expect, it } from "vitest";
import { openDatabase } from "../../shared/db/client";
import { getTenantDatabase } from "../../shared/tenants/tenants";
import { post } from "./mcp-support";
import { config, logsOf, newTenant, openMgmtDb } from "./support";

describe("failures inside /mcp handlers", () => {
  it("answers a failing resource read with a safe message and logs the real cause with the request id", async () => {
    const { tenant, apiKey } = await newTenant();
    const record = await getTenantDatabase(openMgmtDb(), config, tenant.id);
    if (!record) throw new Error("tenant without database");
    const db = openDatabase(record.coordinates, config.dbTimeoutMs);
    // A broken tenant database: the memory store's statements now fail inside SQLite.
    await db.execute("ALTER TABLE memories RENAME TO memories_moved_away", "write");
    db.close();

    let response: Response | undefined;
    const logs = await logsOf(async () => {
      response = await post(apiKey.key, {
        jsonrpc: "2.0",
        id: 4,
        method: "resources/read",
        params: { uri: "muninn://memories/m_anything" },
      });
    });
    const body = (await response?.json()) as { error: { code: number; message: string } };
    expect(body.error).toMatchObject({ code: -32603, message: expect.stringContaining("internal error") });
    expect(body.error.message).not.toMatch(/memories|SQLITE|no such table/i);
    const requestId = response?.headers.get("x-request-id");
    expect(logs).toContainEqual(
      expect.objectContaining({
        message: "mcp handler failed",
        requestId,
        resource: "memory",
        errorMessage: expect.stringMatching(/no such table/i),
      }),
    );
  });

  it("logs a 2026-era request the SDK refuses, with the request id", async () => {
    const { apiKey } = await newTenant();
    let response: Response | undefined;
    const logs = await logsOf(async () => {
      response = await post(
        apiKey.key,
        {
          jsonrpc: "2.0",
          id: 1,
          method: "tools/list",
          params: {
            _meta: {
              "io.modelcontextprotocol/protocolVersion": "2026-07-28",
              "io.modelcontextprotocol/clientInfo": { name: "failures-test", version: "1" },
              "io.modelcontextprotocol/clientCapabilities": {},
            },
          },
        },
        { "mcp-protocol-version": "2026-07-28" },
      );
    });
    expect(response?.status).toBe(400);
    expect(logs).toContainEqual(
      expect.objectContaining({
        message: "mcp request refused or failed",
        requestId: response?.headers.get("x-request-id"),
        errorMessage: expect.stringMatching(/Mcp-Method/i),
      }),
    );
  });
});
