/**
 * The Worker `bench/db-round-trip.ts` runs in Miniflare: one database read per
 * request, through as many of our layers as its `VARIANT` binding says, so
 * the CPU a round trip costs the Worker can be split layer by layer. Only that
 * benchmark bundles this file; no deployed Worker contains it.
 *
 * - `none`: no database call (the baseline);
 * - `fetch`: the bare subrequest: the same JSON body the client sends, with a
 *   timeout signal, its answer parsed, nothing else;
 * - `client`: `openDatabase` (the lean Hrana client, `fetchWithTimeout`);
 * - `guarded`: that through the pool, the breaker and the read retries
 *   (`guardDatabase`) and the duration metric (`measuredDatabase`), composed
 *   as `workers/services.ts` composes a tenant's database;
 * - `fenced`: `guarded` with the OAuth outbound fence wrapping the global
 *   `fetch`, as in the real Worker (`fenceLibraryFetches`);
 * - `remember`: `fenced`, with the call being a whole `remember` of one
 *   memory (its one write batch; the server answers eight similar candidates).
 */
import { CircuitBreaker } from "../../shared/db/circuit-breaker";
import { type Database, openDatabase } from "../../shared/db/client";
import { guardDatabase } from "../../shared/db/guarded";
import { ConcurrencyPool } from "../../shared/db/pool";
import { remember } from "../../shared/memory/remember";
import { fenceLibraryFetches } from "../../workers/auth/oauth-outbound";
import { measuredDatabase } from "../../workers/ops/database-metrics";

interface BenchEnv {
  VARIANT: "none" | "fetch" | "client" | "guarded" | "fenced" | "remember";
  DB_URL: string;
}

const STATEMENT = { sql: "SELECT active AS n FROM memory_counts WHERE project = ?", args: [""] };

let database: Database | undefined;
let count = 0;

function databaseFor(env: BenchEnv): Database {
  if (database) return database;
  const client = openDatabase({ url: env.DB_URL, authToken: "bench-token" }, 10_000);
  if (env.VARIANT === "client") {
    database = client;
    return database;
  }
  if (env.VARIANT === "fenced" || env.VARIANT === "remember") fenceLibraryFetches();
  const breaker = new CircuitBreaker("bench", { failureThreshold: 5, openMs: 1000, maxOpenMs: 30_000 });
  const pool = new ConcurrencyPool(50, 20);
  database = measuredDatabase(
    guardDatabase(client, {
      target: "tenantDb",
      breaker,
      pool,
      owner: "t_bench",
      waitMs: 10_000,
      readRetries: 2,
      retryBaseMs: 100,
    }),
    "tenantDb",
  );
  return database;
}

/** The body the lean client sends for `STATEMENT` as a one-statement read. */
function pipelineBody(): string {
  const inTransaction = (step: number) => ({
    type: "and",
    conds: [
      { type: "ok", step },
      { type: "not", cond: { type: "is_autocommit" } },
    ],
  });
  const stmt = (sql: string, args: { type: string; value: string }[], wantRows: boolean) => ({
    sql,
    args,
    named_args: [],
    want_rows: wantRows,
  });
  const steps = [
    { stmt: stmt("BEGIN DEFERRED", [], false) },
    { condition: inTransaction(0), stmt: stmt(STATEMENT.sql, [{ type: "text", value: "" }], true) },
    { condition: inTransaction(1), stmt: stmt("COMMIT", [], false) },
    { condition: { type: "not", cond: { type: "ok", step: 2 } }, stmt: stmt("ROLLBACK", [], false) },
  ];
  return JSON.stringify({ baton: null, requests: [{ type: "batch", batch: { steps } }, { type: "close" }] });
}

export default {
  async fetch(_request: Request, env: BenchEnv): Promise<Response> {
    if (env.VARIANT === "none") return new Response("ok");
    if (env.VARIANT === "fetch") {
      const response = await fetch(new URL("v3/pipeline", env.DB_URL), {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer bench-token" },
        body: pipelineBody(),
        signal: AbortSignal.timeout(10_000),
      });
      await response.json();
      return new Response("ok");
    }
    if (env.VARIANT === "remember") {
      count += 1;
      const content = `cpu probe memory ${count}: the deploy went out after the cache was warmed`;
      const [saved] = await remember(databaseFor(env), [{ content, kind: "fact" }]);
      return new Response(saved?.id);
    }
    const result = await databaseFor(env).execute(STATEMENT, "read");
    return new Response(String(result.rows[0]?.n));
  },
};
