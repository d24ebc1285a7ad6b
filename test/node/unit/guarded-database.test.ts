import { describe, expect, it } from "vitest";
import { CircuitBreaker } from "../../../shared/db/circuit-breaker";
import type { Database, Intent, ResultSet, Statement } from "../../../shared/db/client";
import { DatabaseUnavailableError, guardDatabase } from "../../../shared/db/guarded";
import { ConcurrencyPool } from "../../../shared/db/pool";

/** A database that is unreachable for its first `failures` calls, recording each call's intent. */
function flakyDatabase(failures: number) {
  const calls: { method: "execute" | "batch"; intent: Intent }[] = [];
  const answer = (method: "execute" | "batch", intent: Intent) => {
    calls.push({ method, intent });
    if (calls.length <= failures) throw new TypeError("fetch failed: connection refused");
    const empty = { rows: [], columns: [], columnTypes: [], rowsAffected: 0, lastInsertRowid: undefined };
    return { ...empty, toJSON: () => empty } as ResultSet;
  };
  const db: Database = {
    execute: async (_statement: Statement, intent: Intent) => answer("execute", intent),
    batch: async (statements: Statement[], intent: Intent) => statements.map(() => answer("batch", intent)),
  };
  return { db, calls };
}

function guard(db: Database, failureThreshold = 10) {
  const breaker = new CircuitBreaker("test", { failureThreshold, openMs: 60_000, maxOpenMs: 60_000 });
  return {
    breaker,
    guarded: guardDatabase(db, {
      target: "tenantDb",
      breaker,
      pool: new ConcurrencyPool(4),
      waitMs: 100,
      readRetries: 2,
      retryBaseMs: 1,
    }),
  };
}

describe("guardDatabase", () => {
  it("retries a read that failed to connect, for execute and batch alike", async () => {
    for (const call of [
      (db: Database) => db.execute("SELECT 1", "read"),
      (db: Database) => db.batch(["SELECT 1"], "read"),
    ]) {
      const { db, calls } = flakyDatabase(2);
      await expect(call(guard(db).guarded)).resolves.toBeDefined();
      expect(calls).toHaveLength(3);
      expect(calls.every((entry) => entry.intent === "read")).toBe(true);
    }
  });

  it("sends a write once, whatever its SQL looks like, and reports the database unavailable", async () => {
    for (const call of [
      (db: Database) => db.execute("SELECT 1", "write"),
      (db: Database) => db.batch(["UPDATE t SET a = 1"], "write"),
    ]) {
      const { db, calls } = flakyDatabase(1);
      await expect(call(guard(db).guarded)).rejects.toBeInstanceOf(DatabaseUnavailableError);
      expect(calls).toHaveLength(1);
    }
  });

  it("counts batches against the breaker, and an open breaker stops them before the database", async () => {
    const { db, calls } = flakyDatabase(100);
    const { breaker, guarded } = guard(db, 2);
    await expect(guarded.batch(["UPDATE t SET a = 1"], "write")).rejects.toBeInstanceOf(DatabaseUnavailableError);
    await expect(guarded.batch(["UPDATE t SET a = 1"], "write")).rejects.toBeInstanceOf(DatabaseUnavailableError);
    expect(breaker.state).toBe("open");
    const refused = await guarded.batch(["SELECT 1"], "read").catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DatabaseUnavailableError);
    expect((refused as DatabaseUnavailableError).retryAfterSeconds).toBeGreaterThan(0);
    expect(calls).toHaveLength(2);
  });
});
