import { METRICS, type MetricName } from "./definitions";

/**
 * The metrics aggregator is sharded: `METRICS_SHARDS` Durable Objects, each
 * taking the flushes of the isolates (chosen at random when an isolate
 * starts) and tenant objects (chosen by tenant id, so a tenant's gauges live
 * in one shard) assigned to it. A scrape reads every shard and merges. A
 * fixed count keeps the merge cheap and the assignment stable across deploys;
 * one object serves on the order of a thousand calls a second, so eight
 * shards take about eight thousand isolate flushes a second.
 */
export const METRICS_SHARDS = 8;

/**
 * How many series each per-tenant metric shows in the global exposition: the
 * largest values. Every tenant's figures stay readable one tenant at a
 * time (`/metrics?tenant=…`), and Analytics Engine holds every request.
 */
export const TENANT_SERIES_TOP = 20;

/** The Durable Object name of shard `index`. */
export function shardName(index: number): string {
  return `shard-${index}`;
}

/** The shard a key (a tenant id) always reports to: FNV-1a, so the choice is stable and cheap. */
export function shardOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % METRICS_SHARDS;
}

/** One stored series as a shard reports it. */
export interface ShardSeries {
  series: string;
  value: number;
  /** When the value last changed (epoch ms): among shards, the latest gauge wins. */
  updatedAt: number;
}

/** What a shard hands a scrape: its series (per-tenant ones cut to the top) and its share of active sessions. */
export interface ShardSnapshot {
  series: ShardSeries[];
  activeSessions: number;
}

/** Metrics labelled per tenant, whose global exposition is bounded to `TENANT_SERIES_TOP` tenants. */
export const PER_TENANT_METRICS = (Object.keys(METRICS) as MetricName[]).filter(
  (name) => (METRICS[name] as { perTenant?: boolean }).perTenant === true,
);

function familyOf(series: string): string {
  return (series.split("{")[0] ?? series).replace(/_(bucket|sum|count)$/, "");
}

/**
 * Merge shard snapshots into one series map: counters and histograms add up
 * across shards, a gauge takes the most recently written value. Per-tenant
 * metrics keep their `TENANT_SERIES_TOP` largest series (after merging), so
 * the exposition stays bounded however many tenants there are.
 */
export function mergeSnapshots(snapshots: ShardSnapshot[]): Map<string, number> {
  const merged = new Map<string, { value: number; updatedAt: number }>();
  const isGauge = (series: string) => (METRICS as Record<string, { type: string }>)[familyOf(series)]?.type === "gauge";
  const put = (series: string, value: number, updatedAt: number, gauge: boolean): void => {
    const held = merged.get(series);
    if (!held) merged.set(series, { value, updatedAt });
    else if (!gauge) held.value += value;
    else if (updatedAt >= held.updatedAt) merged.set(series, { value, updatedAt });
  };
  for (const snapshot of snapshots) {
    for (const row of snapshot.series) put(row.series, row.value, row.updatedAt, isGauge(row.series));
  }

  const values = new Map<string, number>();
  const perTenant = new Map<string, [string, number][]>();
  for (const [series, { value }] of merged) {
    const family = familyOf(series);
    if ((PER_TENANT_METRICS as string[]).includes(family) && series.includes('tenant="')) {
      const list = perTenant.get(family) ?? [];
      list.push([series, value]);
      perTenant.set(family, list);
    } else values.set(series, value);
  }
  for (const list of perTenant.values()) {
    list.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    for (const [series, value] of list.slice(0, TENANT_SERIES_TOP)) values.set(series, value);
  }
  values.set(
    "mcp_active_sessions",
    snapshots.reduce((sum, snapshot) => sum + snapshot.activeSessions, 0),
  );
  return values;
}
