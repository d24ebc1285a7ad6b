/**
 * Tenant lifecycle at scale, on the local stack: moving a 100,000-memory
 * tenant to another database through the admin API, and exporting and
 * importing the same 100,000 memories. Each is set against a baseline
 * measured in the same run on the same data: reading and checksumming every
 * table of the tenant once (one side of the verify step; the copy reads it
 * again and writes it, verify reads both sides) for the migration, and
 * inserting the same rows with plain batched INSERTs (the seeding path) for
 * the import.
 */
import { readConfig } from "../shared/config";
import { openDatabase } from "../shared/db/client";
import { listTables, summarizeTable } from "../shared/lifecycle/move/table-copy";
import { getTenantDatabase } from "../shared/tenants/tenants";
import { type BenchTarget, benchTenant } from "./admission";
import { seed } from "./mcp";

const SIZE = 100_000;
/** Import request size: a production Worker has 128 MB, so big files go in parts. */
const IMPORT_PART = 20_000;

export interface LifecycleRow {
  name: string;
  seconds: number;
  perSecond: number;
  /** Time over the baseline's time. */
  ratio: number;
}

async function timed<T>(work: () => Promise<T>): Promise<[number, T]> {
  const started = performance.now();
  const result = await work();
  return [(performance.now() - started) / 1000, result];
}

/** Read and checksum every table of the tenant once, as one side of the migration's verify step does. */
async function readAll(target: BenchTarget, tenantId: string): Promise<number> {
  const config = readConfig(target.vars);
  const record = await getTenantDatabase(openDatabase(config.mgmtDb, config.dbTimeoutMs), config, tenantId);
  if (!record) throw new Error("no tenant database");
  const db = openDatabase(record.coordinates, 60_000, { exactIntegers: true });
  let rows = 0;
  for (const table of await listTables(db)) rows += (await summarizeTable(db, table, 2000)).rows;
  db.close();
  return rows;
}

export async function benchLifecycle(target: BenchTarget): Promise<LifecycleRow[]> {
  const admin = { authorization: `Bearer ${target.adminToken}`, "content-type": "application/json" };
  const source = await benchTenant(target);
  // Unique texts: the import dedupes by content, and every memory should count.
  const [seedSeconds] = await timed(() => seed(target, source.id, SIZE, { unique: true }));
  console.error(`seeded ${SIZE} in ${seedSeconds.toFixed(1)} s`);
  const [readSeconds] = await timed(() => readAll(target, source.id));

  const [migrateSeconds, migration] = await timed(async () => {
    const started = await fetch(`${target.baseUrl}/api/tenants/${source.id}/migrate`, {
      method: "POST",
      headers: admin,
      body: JSON.stringify({ target: { group: "default" } }),
    });
    if (started.status !== 202) throw new Error(`migrate: ${started.status} ${await started.text()}`);
    const { id } = (await started.json()) as { id: string };
    for (;;) {
      const body = (await (
        await fetch(`${target.baseUrl}/api/tenants/${source.id}/migrations/${id}`, { headers: admin })
      ).json()) as { status: string; error: string | null; tables: Record<string, { target_rows: number }> };
      if (body.status !== "running") return body;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });
  console.error(`migrated in ${migrateSeconds.toFixed(1)} s (baseline ${readSeconds.toFixed(1)} s)`);
  if (migration.status !== "completed") throw new Error(`migration ${migration.status}: ${migration.error}`);
  if (migration.tables.memories?.target_rows !== SIZE) throw new Error("migration copied the wrong number of rows");

  const [exportSeconds, exported] = await timed(async () => {
    const response = await fetch(`${target.baseUrl}/api/export?format=jsonl`, {
      headers: { authorization: `Bearer ${source.key}` },
    });
    return response.text();
  });
  const memoryLines = exported.split("\n").filter((line) => line.startsWith('{"type":"memory"'));
  console.error(`exported in ${exportSeconds.toFixed(1)} s`);
  if (memoryLines.length !== SIZE) throw new Error(`export carried ${memoryLines.length} memories`);

  const fresh = await benchTenant(target);
  const [importSeconds, created] = await timed(async () => {
    let total = 0;
    for (let i = 0; i < memoryLines.length; i += IMPORT_PART) {
      const response = await fetch(`${target.baseUrl}/api/import?format=muninn`, {
        method: "POST",
        headers: { authorization: `Bearer ${fresh.key}`, "content-type": "application/x-ndjson" },
        body: memoryLines.slice(i, i + IMPORT_PART).join("\n"),
      });
      if (!response.ok) throw new Error(`import: ${response.status} ${(await response.text()).slice(0, 300)}`);
      total += ((await response.json()) as { created: number }).created;
    }
    return total;
  });
  if (created !== SIZE) throw new Error(`import created ${created} of ${SIZE}`);

  const row = (name: string, seconds: number, baseline: number): LifecycleRow => ({
    name,
    seconds: Number(seconds.toFixed(2)),
    perSecond: Math.round(SIZE / seconds),
    ratio: Number((seconds / baseline).toFixed(2)),
  });
  return [
    row("read + checksum every table once (migration baseline)", readSeconds, readSeconds),
    row("tenant migration, 100,000 memories (202 → completed)", migrateSeconds, readSeconds),
    row("plain batched INSERTs (import baseline)", seedSeconds, seedSeconds),
    row(
      `import, 100,000 memories (our JSONL, ${IMPORT_PART.toLocaleString("en")} a request)`,
      importSeconds,
      seedSeconds,
    ),
    row("export, 100,000 memories (JSONL, streamed)", exportSeconds, readSeconds),
  ];
}

export function formatLifecycle(rows: LifecycleRow[]): string {
  const migration = rows[1]?.seconds ?? Number.NaN;
  const importRate = rows[3]?.perSecond ?? 0;
  const mark = (ok: boolean) => (ok ? "met" : "MISSED");
  return [
    "### Tenant lifecycle",
    "",
    "| operation | seconds | memories/s | × baseline |",
    "|---|---:|---:|---:|",
    ...rows.map((row) => `| ${row.name} | ${row.seconds} | ${row.perSecond} | ${row.ratio}× |`),
    "",
    "| goal | this run | |",
    "|---|---:|---|",
    `| 100,000-memory migration < 120 s | ${migration} s | ${mark(migration < 120)} |`,
    `| import ≥ 2,000 memories/s | ${importRate}/s | ${mark(importRate >= 2000)} |`,
  ].join("\n");
}
