import type { Client } from "@modelcontextprotocol/client";
import { type Database, openDatabase } from "../../shared/db/client";
import { getTenantDatabase } from "../../shared/tenants/tenants";
import { callOk, connect } from "./mcp-support";
import { config, newTenant, openMgmtDb } from "./support";

export interface Saved {
  saved: number;
  deduplicated: number;
  results: { id: string; deduplicated: boolean; superseded_id: string | null; similar: { id: string }[] }[];
}
export interface Hit {
  id: string;
  score: number;
  snippet: string;
  status: string;
  explain?: { signals: Record<string, number> };
}

/** A fresh pro tenant with a modern-era MCP client, and shorthands for its memory tools. */
export async function memoryTenant() {
  const { tenant, apiKey } = await newTenant("pro");
  const client: Client = await connect(apiKey.key, "modern");
  return {
    client,
    tenantId: tenant.id,
    remember: (args: Record<string, unknown>) => callOk<Saved>(client, "remember", args),
    recall: (args: Record<string, unknown>) => callOk<{ results: Hit[]; note?: string }>(client, "recall", args),
    /** The tenant's own database, for checking what the tools wrote and for driving the store directly. */
    async tenantDb(): Promise<Database> {
      const record = await getTenantDatabase(openMgmtDb(), config, tenant.id);
      if (!record) throw new Error(`no database for tenant ${tenant.id}`);
      return openDatabase(record.coordinates, config.dbTimeoutMs);
    },
  };
}
