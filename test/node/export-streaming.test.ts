/**
 * The export streams: reading a 100,000-memory tenant's export holds about
 * one page of memories at a time, not the tenant. Runs the Worker's own
 * export code against the local libSQL server.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DatabaseClient, openDatabase } from "../../shared/db/client";
import { migrate } from "../../shared/db/migrate";
import { exportStream } from "../../shared/lifecycle/portability/export";
import { tenantMigrations } from "../../shared/migrations/tenant";
import { type LibsqlServer, startLibsqlServer } from "../../tools/libsql-server/server";

let dataDir: string;
let server: LibsqlServer;
let db: DatabaseClient;
const SIZE = 100_000;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "export-streaming-"));
  server = await startLibsqlServer({ port: 0, dataDir });
  db = openDatabase({ url: `${server.url}/streaming/`, authToken: "" }, 60_000);
  await migrate(db, tenantMigrations);
  const content = "x".repeat(600);
  for (let start = 0; start < SIZE; start += 2000) {
    const rows = Array.from({ length: Math.min(2000, SIZE - start) }, (_, k) => start + k);
    await db.execute(
      {
        sql: `INSERT INTO memories (id, kind, content, content_hash, created_at, updated_at)
              SELECT 'm_' || value, 'fact', ? || value, 'h' || value, value, value FROM json_each(?)`,
        args: [content, JSON.stringify(rows)],
      },
      "write",
    );
  }
}, 120_000);

afterAll(async () => {
  db.close();
  await server.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe("export of a large tenant", () => {
  it("streams 100,000 memories while holding far less than the export's size", async () => {
    const heap = () => process.memoryUsage().heapUsed;
    const before = heap();
    let peak = before;
    let bytes = 0;
    let tail = "";
    const reader = exportStream(db, "t-streaming", "jsonl").getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      tail = new TextDecoder().decode(value.subarray(Math.max(0, value.byteLength - 200)));
      peak = Math.max(peak, heap());
    }
    expect(tail).toContain(`"memories":${SIZE}`);
    expect(bytes).toBeGreaterThan(80 * 1024 * 1024);
    // The export is over 80 MB (held whole, over 160 MB of string); the heap never grew by half of it.
    expect(peak - before).toBeLessThan(bytes / 2);
  }, 120_000);
});
