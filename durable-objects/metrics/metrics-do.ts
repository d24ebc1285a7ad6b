import { DurableObject } from "cloudflare:workers";
import { renderExposition } from "../../shared/metrics/exposition";
import type { MetricDelta } from "../../shared/metrics/recorder";
import { migrateStorage } from "../storage-migrations";
import { metricsStorageMigrations } from "./migrations";

/**
 * The one place metrics from every isolate and every tenant Durable Object
 * add up, so `/metrics` reports the service and not whichever isolate
 * answered. Senders batch their deltas (at most about one call per second
 * per isolate), so this object sees a few calls a second, not one per request.
 */
export class MetricsDO extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrateStorage(ctx.storage, metricsStorageMigrations);
  }

  ingest(deltas: MetricDelta[]): void {
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      for (const delta of deltas) {
        if (delta.op === "add") {
          this.ctx.storage.sql.exec(
            `INSERT INTO series (series, value, updated_at) VALUES (?, ?, ?)
             ON CONFLICT (series) DO UPDATE SET value = value + excluded.value, updated_at = excluded.updated_at`,
            delta.series,
            delta.value,
            now,
          );
        } else {
          this.ctx.storage.sql.exec(
            `INSERT INTO series (series, value, updated_at) VALUES (?, ?, ?)
             ON CONFLICT (series) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
            delta.series,
            delta.value,
            now,
          );
        }
      }
    });
  }

  /** Active legacy MCP sessions across tenants: the sum of the per-tenant gauges the tenant objects keep current. */
  activeSessions(): number {
    const row = this.ctx.storage.sql
      .exec<{ total: number }>(
        "SELECT COALESCE(SUM(value), 0) AS total FROM series WHERE series LIKE 'mcp_tenant_active_sessions{%'",
      )
      .one();
    return row.total;
  }

  /** Prometheus text for everything recorded, plus the derived all-tenant session gauge. */
  exposition(extra: MetricDelta[] = []): string {
    this.ingest(extra);
    const values = new Map<string, number>();
    for (const row of this.ctx.storage.sql.exec<{ series: string; value: number }>(
      "SELECT series, value FROM series ORDER BY series",
    )) {
      values.set(row.series, row.value);
    }
    values.set("mcp_active_sessions", this.activeSessions());
    return renderExposition(values);
  }
}
