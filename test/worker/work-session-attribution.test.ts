import { describe, expect, it } from "vitest";
import { openDatabase } from "../../shared/db/client";
import { getTenantDatabase } from "../../shared/tenants/tenants";
import { callOk, connect } from "./mcp-support";
import { newAccount } from "./oauth-support";
import { config, openMgmtDb, workerFetch } from "./support";

async function tenantDb(tenantId: string) {
  const record = await getTenantDatabase(openMgmtDb(), config, tenantId);
  if (!record) throw new Error(`no database for ${tenantId}`);
  return openDatabase(record.coordinates, config.dbTimeoutMs);
}

type Session = { session: { id: string } };

describe("work sessions say who started and ended them", () => {
  it("records the key and client on start and end, answers them, and exports them", async () => {
    const account = await newAccount();
    const client = await connect(account.apiKey, "modern");
    const started = await callOk<Session>(client, "session", {
      action: "start",
      project: "atlas",
      goal: "Move the ledger to Postgres",
    });
    const ended = await callOk<{ session: { started_by?: unknown; ended_by?: unknown } }>(client, "session", {
      action: "end",
      project: "atlas",
      outcome: "Half done",
    });

    const row = (
      await (
        await tenantDb(account.tenantId)
      ).execute(
        { sql: "SELECT started_by, ended_by FROM work_sessions WHERE id = ?", args: [started.session.id] },
        "read",
      )
    ).rows[0];
    const startedBy = JSON.parse(String(row?.started_by));
    expect(startedBy).toMatchObject({
      account: account.userId,
      via: { kind: "key" },
      client: { name: "test-modern", version: "1.0.0" },
    });
    expect(JSON.parse(String(row?.ended_by))).toEqual(startedBy);
    // The answer to `session` says who, like `get` does for a memory.
    expect(ended.session.started_by).toEqual(startedBy);
    expect(ended.session.ended_by).toEqual(startedBy);

    const exported = await workerFetch("/api/export", { headers: { authorization: `Bearer ${account.apiKey}` } });
    expect(exported.status).toBe(200);
    const record = (await exported.text())
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { type: string; started_by?: unknown; ended_by?: unknown })
      .find((line) => line.type === "work_session");
    expect(record?.started_by).toEqual(startedBy);
    expect(record?.ended_by).toEqual(startedBy);
    await client.close();
  });
});
