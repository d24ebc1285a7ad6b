import type { InStatement, InValue, Row } from "@libsql/client/web";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import type { Database } from "../../db/client";

/**
 * Table-generic copying and checksumming of a tenant database, for moving a
 * tenant to another database. It needs only the narrow `Database` (`execute`
 * and `batch`), so it runs on a raw client or on any guard around one, and it knows nothing of the
 * memory schema: every ordinary table is copied, whatever migrations made it.
 *
 * Clients handed to it must read integers as `bigint` (`intMode: "bigint"`):
 * a JavaScript number is sent back as a float, and an integer stored in a
 * column without INTEGER affinity would come out as a REAL.
 */

export interface TableShape {
  name: string;
  columns: string[];
  /** Columns that order the table and resume a copy: the primary key, or `rowid` for rowid tables. */
  key: string[];
  /** True when `rowid` is copied explicitly (a rowid table without an INTEGER PRIMARY KEY alias). */
  copiesRowid: boolean;
}

export interface TableSummary {
  rows: number;
  /** SHA-256 over every row in key order, each value tagged with its SQLite type. */
  checksum: string;
}

/**
 * Not copied: `schema_migrations` is kept by the migrator itself (each side
 * runs the same migrations, so versions are compared instead), and
 * `memory_counts` is derived, like the FTS index — the target's triggers
 * count the memories as they arrive (tenant DB v4).
 */
const NOT_COPIED = new Set(["schema_migrations", "memory_counts"]);

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * The ordinary tables of a database in a stable order. Virtual tables (FTS)
 * and their shadow tables are left out: they are derived from the base tables
 * and rebuilt by the target's own triggers as rows arrive.
 */
export async function listTables(db: Database): Promise<TableShape[]> {
  const list = await db.execute("PRAGMA main.table_list", "read");
  const tables = list.rows
    .filter((row) => row.type === "table" && !String(row.name).startsWith("sqlite_"))
    .filter((row) => !String(row.name).startsWith("libsql_") && !NOT_COPIED.has(String(row.name)))
    .map((row) => ({ name: String(row.name), withoutRowid: Number(row.wr) === 1 }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const shapes: TableShape[] = [];
  for (const table of tables) {
    const info = await db.execute(`PRAGMA main.table_info(${quote(table.name)})`, "read");
    const columns = info.rows.map((row) => String(row.name));
    const pk = info.rows
      .filter((row) => Number(row.pk) > 0)
      .sort((a, b) => Number(a.pk) - Number(b.pk))
      .map((row) => ({ name: String(row.name), type: String(row.type).toUpperCase() }));
    if (table.withoutRowid) {
      shapes.push({ name: table.name, columns, key: pk.map((column) => column.name), copiesRowid: false });
      continue;
    }
    // A single INTEGER PRIMARY KEY is the rowid itself and is copied as a column.
    const alias = pk.length === 1 && pk[0]?.type === "INTEGER" ? pk[0].name : null;
    shapes.push(
      alias
        ? { name: table.name, columns, key: [alias], copiesRowid: false }
        : { name: table.name, columns, key: ["rowid"], copiesRowid: true },
    );
  }
  return shapes;
}

function selectedColumns(table: TableShape): string[] {
  return table.copiesRowid ? ["rowid", ...table.columns] : table.columns;
}

/** Rows after `after` (a key tuple; null from the start), in key order. */
async function readPage(db: Database, table: TableShape, after: InValue[] | null, limit: number) {
  const keys = table.key.map(quote).join(", ");
  const where = after ? `WHERE (${keys}) > (${after.map(() => "?").join(", ")})` : "";
  const result = await db.execute(
    {
      sql: `SELECT ${selectedColumns(table).map(quote).join(", ")} FROM ${quote(table.name)} ${where}
          ORDER BY ${keys} LIMIT ?`,
      args: [...(after ?? []), limit],
    },
    "read",
  );
  return result.rows;
}

function keyOf(table: TableShape, row: Row): InValue[] {
  return table.key.map((column) => row[column] as InValue);
}

/** The key of the last row the target holds: where an interrupted copy resumes. */
async function lastKey(db: Database, table: TableShape): Promise<InValue[] | null> {
  const keys = table.key.map(quote);
  const result = await db.execute(
    `SELECT ${keys.join(", ")} FROM ${quote(table.name)} ORDER BY ${keys.map((k) => `${k} DESC`).join(", ")} LIMIT 1`,
    "read",
  );
  const row = result.rows[0];
  return row ? keyOf(table, row) : null;
}

/** SQLite's limit on bound parameters is 32766; stay well under it. */
const MAX_PARAMS = 30_000;

export interface CopyOptions {
  /** Rows read and written per round trip. */
  batchRows: number;
  /** Called after each committed batch with the rows copied so far. */
  onBatch?(copied: number): Promise<void> | void;
}

/**
 * Copy one table from `source` to `target`, in key order, one transaction per
 * batch. Resumable without bookkeeping: each batch commits whole, so the
 * target's last key is exactly where the copy stopped. Returns the rows the
 * target holds for the table.
 */
export async function copyTable(
  source: Database,
  target: Database,
  table: TableShape,
  options: CopyOptions,
): Promise<number> {
  const columns = selectedColumns(table);
  const rowsPerInsert = Math.max(1, Math.min(options.batchRows, Math.floor(MAX_PARAMS / columns.length)));
  const counted = await target.execute(`SELECT COUNT(*) AS n FROM ${quote(table.name)}`, "read");
  let copied = Number(counted.rows[0]?.n ?? 0);
  let after = await lastKey(target, table);
  for (;;) {
    const rows = await readPage(source, table, after, options.batchRows);
    if (rows.length === 0) return copied;
    const inserts: InStatement[] = [];
    for (let i = 0; i < rows.length; i += rowsPerInsert) {
      const chunk = rows.slice(i, i + rowsPerInsert);
      const tuple = `(${columns.map(() => "?").join(", ")})`;
      inserts.push({
        sql: `INSERT INTO ${quote(table.name)} (${columns.map(quote).join(", ")}) VALUES ${chunk.map(() => tuple).join(", ")}`,
        args: chunk.flatMap((row) => columns.map((column) => row[column] as InValue)),
      });
    }
    await target.batch(inserts, "write");
    copied += rows.length;
    after = keyOf(table, rows[rows.length - 1] as Row);
    await options.onBatch?.(copied);
    if (rows.length < options.batchRows) return copied;
  }
}

/** A value with its type, so 1, 1.0, '1' and x'01' never hash alike. */
function encodeValue(value: unknown): string {
  if (value === null || value === undefined) return "n;";
  if (typeof value === "bigint") return `i${value};`;
  if (typeof value === "number") return `f${value};`;
  if (typeof value === "string") return `s${value.length}:${value}`;
  if (value instanceof ArrayBuffer) return `b${bytesToHex(new Uint8Array(value))};`;
  throw new TypeError(`unexpected value of type ${typeof value}`);
}

/** Row count and checksum of one table, read in pages of `pageRows` in key order. */
export async function summarizeTable(db: Database, table: TableShape, pageRows: number): Promise<TableSummary> {
  const hash = sha256.create();
  const encoder = new TextEncoder();
  const columns = selectedColumns(table);
  let rows = 0;
  let after: InValue[] | null = null;
  for (;;) {
    const page = await readPage(db, table, after, pageRows);
    for (const row of page) {
      hash.update(encoder.encode(`${columns.map((column) => encodeValue(row[column])).join("")}\n`));
    }
    rows += page.length;
    if (page.length < pageRows) break;
    after = keyOf(table, page[page.length - 1] as Row);
  }
  return { rows, checksum: bytesToHex(hash.digest()) };
}

/** Empty every copyable table of a freshly migrated target (migrations may seed rows the source also has). */
export async function clearTables(db: Database, tables: TableShape[]): Promise<void> {
  await db.batch(
    tables.map((table) => `DELETE FROM ${quote(table.name)}`),
    "write",
  );
}
