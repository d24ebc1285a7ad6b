import type { Database } from "./db/client";

/** A tenant's totals for one calendar month (UTC), as its Durable Object counted them. */
export interface UsageTotals {
  period: string;
  requests: number;
  toolCalls: number;
  rateLimited: number;
  quotaExceeded: number;
}

/**
 * Write a tenant's absolute monthly totals into the management `usage` table,
 * all periods in one batch. Totals only ever grow, so `MAX` makes the write
 * idempotent and order-independent: a retried or delayed flush can never
 * count twice or move a total backwards.
 */
export async function recordUsage(mgmtDb: Database, tenantId: string, rows: UsageTotals[]): Promise<void> {
  if (rows.length === 0) return;
  await mgmtDb.batch(
    rows.map((row) => ({
      sql: `INSERT INTO usage (tenant_id, period, requests, tool_calls, rate_limited, quota_exceeded)
            VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (tenant_id, period) DO UPDATE SET
              requests = MAX(usage.requests, excluded.requests),
              tool_calls = MAX(usage.tool_calls, excluded.tool_calls),
              rate_limited = MAX(usage.rate_limited, excluded.rate_limited),
              quota_exceeded = MAX(usage.quota_exceeded, excluded.quota_exceeded),
              updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
      args: [tenantId, row.period, row.requests, row.toolCalls, row.rateLimited, row.quotaExceeded],
    })),
    "write",
  );
}
