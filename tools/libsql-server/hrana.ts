/**
 * Hrana over HTTP (v2 and v3 JSON pipelines): streams, batons, and execution
 * of stream requests on the `libsql` engine.
 *
 * A stream owns one connection for its whole life, so an interactive
 * transaction (BEGIN in one HTTP request, COMMIT in a later one) never leaks
 * into other streams. Connections come from, and return to, a per-database
 * pool; a returning connection is rolled back first.
 *
 * The engine is synchronous, so a pipeline never interleaves with another
 * one except while we wait for a lock: SQLITE_BUSY is retried with timers
 * rather than a SQLite busy timeout, which would freeze the event loop and
 * stop the lock holder's COMMIT from ever arriving.
 */
import { randomBytes } from "node:crypto";
import type { Connection, DatabaseRegistry } from "./databases.js";
import { HttpError, isBusyError, ProtocolError, type ProtoError, toProtoError } from "./errors.js";
import { bindArgs, type NamedArg, parameterNames } from "./params.js";
import { checkSql } from "./sql-gate.js";
import { decodeValue, encodeValue, type ProtoValue, type SqlValue } from "./values.js";

export type HranaVersion = 2 | 3;

export interface Access {
  readOnly: boolean;
}

export interface HranaOptions {
  /** Idle time after which a stream is closed and its transaction rolled back (sqld: 10 s). */
  streamTimeoutMs: number;
  /** How long a statement waits for a lock held by another stream before failing with SQLITE_BUSY. */
  busyTimeoutMs: number;
}

// ---- Request shapes (after validation) ----

interface Stmt {
  sql?: string;
  sqlId?: number;
  args: SqlValue[];
  namedArgs: NamedArg[];
  wantRows: boolean;
}

type BatchCond =
  | { type: "ok" | "error"; step: number }
  | { type: "not"; cond: BatchCond }
  | { type: "and" | "or"; conds: BatchCond[] }
  | { type: "is_autocommit" };

interface BatchStep {
  condition?: BatchCond;
  stmt: Stmt;
}

type StreamRequest =
  | { type: "close" }
  | { type: "execute"; stmt: Stmt }
  | { type: "batch"; steps: BatchStep[] }
  | { type: "sequence" | "describe"; sql?: string; sqlId?: number }
  | { type: "store_sql"; sqlId: number; sql: string }
  | { type: "close_sql"; sqlId: number }
  | { type: "get_autocommit" };

interface PipelineRequest {
  baton: string | null;
  requests: StreamRequest[];
}

// ---- Response shapes ----

interface StmtResult {
  cols: { name: string | null; decltype: string | null }[];
  rows: ProtoValue[][];
  affected_row_count: number;
  last_insert_rowid: string | null;
  replication_index: null;
  query_duration_ms: number;
}

type StreamResult =
  | { type: "ok"; response: Record<string, unknown> & { type: string } }
  | { type: "error"; error: ProtoError };

export interface PipelineResponse {
  baton: string | null;
  base_url: null;
  results: StreamResult[];
}

// ---- Validation: everything is checked before anything runs ----

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function optString(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new ProtocolError(`${what} must be a string`);
  return v;
}

function optInt(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Number.isSafeInteger(v)) throw new ProtocolError(`${what} must be an integer`);
  return v as number;
}

function sqlOrId(obj: Record<string, unknown>): { sql?: string; sqlId?: number } {
  const sql = optString(obj.sql, "`sql`");
  const sqlId = optInt(obj.sql_id, "`sql_id`");
  if (sql !== undefined && sqlId !== undefined)
    throw new ProtocolError("Either `sql` or `sql_id` are required, but not both");
  if (sql === undefined && sqlId === undefined) throw new ProtocolError("Either `sql` or `sql_id` are required");
  return sql !== undefined ? { sql } : { sqlId: sqlId as number };
}

function parseStmt(raw: unknown): Stmt {
  if (!isObject(raw)) throw new ProtocolError("`stmt` must be an object");
  const args = raw.args ?? [];
  const named = raw.named_args ?? [];
  if (!Array.isArray(args)) throw new ProtocolError("`args` must be an array");
  if (!Array.isArray(named)) throw new ProtocolError("`named_args` must be an array");
  const wantRows = raw.want_rows ?? true;
  if (typeof wantRows !== "boolean") throw new ProtocolError("`want_rows` must be a boolean");
  return {
    ...sqlOrId(raw),
    args: args.map(decodeValue),
    namedArgs: named.map((arg: unknown) => {
      if (!isObject(arg) || typeof arg.name !== "string")
        throw new ProtocolError("Named argument needs a string `name`");
      return { name: arg.name, value: decodeValue(arg.value) };
    }),
    wantRows,
  };
}

function parseCond(raw: unknown, version: HranaVersion): BatchCond {
  if (!isObject(raw)) throw new ProtocolError("Batch condition must be an object");
  switch (raw.type) {
    case "ok":
    case "error": {
      const step = optInt(raw.step, "`step`");
      if (step === undefined || step < 0) throw new ProtocolError("Batch condition needs a non-negative `step`");
      return { type: raw.type, step };
    }
    case "not":
      return { type: "not", cond: parseCond(raw.cond, version) };
    case "and":
    case "or":
      if (!Array.isArray(raw.conds)) throw new ProtocolError("`conds` must be an array");
      return { type: raw.type, conds: raw.conds.map((c: unknown) => parseCond(c, version)) };
    case "is_autocommit":
      if (version < 3)
        throw new ProtocolError(
          "The `is_autocommit` condition is only supported in protocol version hrana3 and higher",
          "NOT_SUPPORTED",
        );
      return { type: "is_autocommit" };
    default:
      throw new ProtocolError("BatchCond type not recognized");
  }
}

function parseRequest(raw: unknown, version: HranaVersion): StreamRequest {
  if (!isObject(raw)) throw new ProtocolError("Each request must be an object");
  switch (raw.type) {
    case "close":
      return { type: "close" };
    case "execute":
      return { type: "execute", stmt: parseStmt(raw.stmt) };
    case "batch": {
      const batch = raw.batch;
      if (!isObject(batch) || !Array.isArray(batch.steps)) throw new ProtocolError("`batch.steps` must be an array");
      const steps = batch.steps.map((step: unknown): BatchStep => {
        if (!isObject(step)) throw new ProtocolError("Batch step must be an object");
        const condition = step.condition == null ? undefined : parseCond(step.condition, version);
        return condition ? { condition, stmt: parseStmt(step.stmt) } : { stmt: parseStmt(step.stmt) };
      });
      return { type: "batch", steps };
    }
    case "sequence":
    case "describe":
      return { type: raw.type, ...sqlOrId(raw) };
    case "store_sql": {
      const sqlId = optInt(raw.sql_id, "`sql_id`");
      if (sqlId === undefined || typeof raw.sql !== "string")
        throw new ProtocolError("`store_sql` needs `sql_id` and `sql`");
      return { type: "store_sql", sqlId, sql: raw.sql };
    }
    case "close_sql": {
      const sqlId = optInt(raw.sql_id, "`sql_id`");
      if (sqlId === undefined) throw new ProtocolError("`close_sql` needs `sql_id`");
      return { type: "close_sql", sqlId };
    }
    case "get_autocommit":
      if (version < 3)
        throw new ProtocolError(
          "The `get_autocommit` request is only supported in protocol version hrana3 and higher",
          "NOT_SUPPORTED",
        );
      return { type: "get_autocommit" };
    default:
      throw new ProtocolError(`StreamRequest type not recognized: ${JSON.stringify(raw.type)}`);
  }
}

function parsePipeline(raw: unknown, version: HranaVersion): PipelineRequest {
  if (!isObject(raw)) throw new ProtocolError("Pipeline request body must be a JSON object");
  const baton = optString(raw.baton, "`baton`") ?? null;
  if (!Array.isArray(raw.requests)) throw new ProtocolError("`requests` must be an array");
  return { baton, requests: raw.requests.map((r: unknown) => parseRequest(r, version)) };
}

// ---- Streams ----

interface Stream {
  id: string;
  db: string;
  conn: Connection;
  sqls: Map<number, string>;
  /** Sequence number the next baton must carry; a baton is good for exactly one request. */
  seq: number;
  busy: boolean;
  closed: boolean;
  /** Set when the database is deleted while a request is running on this stream. */
  doomed: boolean;
  lastUsed: number;
  readOnly: boolean;
  /**
   * Inside `BEGIN TRANSACTION READONLY`, which the embedded engine parses but
   * does not enforce; `query_only` stands in for it (a convenience for the
   * client, not a boundary: the gate refuses setting that pragma anyway).
   */
  readOnlyTxn: boolean;
}

/** sqld's limits on stored SQL texts; the client knows them and stays below. */
const MAX_STORED_SQLS = 50;
const MAX_STORED_SQL_LENGTH = 5000;
/** How long an expired stream's id is remembered, to answer "expired" rather than "invalid baton". */
const EXPIRED_MEMORY_MS = 5 * 60_000;
const BEGIN_READONLY = /^\s*BEGIN\s+(?:TRANSACTION\s+)?READONLY\b/i;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class HranaServer {
  private readonly streams = new Map<string, Stream>();
  private readonly expired = new Map<string, number>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly stats = new WeakMap<Connection, ReturnType<Connection["prepare"]>>();

  constructor(
    private readonly registry: DatabaseRegistry,
    private readonly options: HranaOptions,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(1000, options.streamTimeoutMs)).unref();
  }

  async pipeline(db: string, version: HranaVersion, body: unknown, access: Access): Promise<PipelineResponse> {
    const request = parsePipeline(body, version);
    const stream = request.baton === null ? this.open(db, access) : this.take(db, request.baton);
    const results: StreamResult[] = [];
    try {
      for (const req of request.requests) {
        if (stream.closed) throw new ProtocolError("Stream for this baton was closed", "BATON_STREAM_CLOSED");
        results.push(await this.handle(stream, req));
      }
    } catch (error) {
      // Like sqld: a protocol error mid-pipeline kills the stream.
      this.destroy(stream);
      throw error;
    }
    if (stream.closed || stream.doomed) {
      this.destroy(stream);
      return { baton: null, base_url: null, results };
    }
    stream.busy = false;
    stream.lastUsed = Date.now();
    return { baton: `${stream.id}.${stream.seq}`, base_url: null, results };
  }

  /** Close every stream of a database (it is being deleted). Busy ones are closed when their request ends. */
  closeStreamsFor(db: string): void {
    for (const stream of this.streams.values()) {
      if (stream.db !== db) continue;
      if (stream.busy) stream.doomed = true;
      else this.destroy(stream);
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const stream of this.streams.values()) this.destroy(stream);
  }

  private open(db: string, access: Access): Stream {
    // A read-only token gets a connection the engine opened read-only: no
    // statement it sends can turn that off (query_only could be).
    const conn = this.registry.acquire(db, access.readOnly);
    const stream: Stream = {
      id: randomBytes(16).toString("base64url"),
      db,
      conn,
      sqls: new Map(),
      seq: randomBytes(4).readUInt32BE(),
      busy: true,
      closed: false,
      doomed: false,
      lastUsed: Date.now(),
      readOnly: access.readOnly,
      readOnlyTxn: false,
    };
    this.streams.set(stream.id, stream);
    return stream;
  }

  private take(db: string, baton: string): Stream {
    const match = /^([A-Za-z0-9_-]{22})\.(\d+)$/.exec(baton);
    const id = match?.[1];
    if (id === undefined) throw new ProtocolError("Received an invalid baton", "BATON_INVALID");
    if (this.expired.has(id)) {
      // sqld answers an expired stream with HTTP 500 and this code.
      throw new HttpError(500, "The stream has expired due to inactivity", "STREAM_EXPIRED");
    }
    const stream = this.streams.get(id);
    if (!stream || stream.db !== db) throw new ProtocolError("Received an invalid baton", "BATON_INVALID");
    if (stream.busy || Number(match?.[2]) !== stream.seq) {
      throw new ProtocolError("Received a baton that has already been used", "BATON_REUSED");
    }
    stream.busy = true;
    stream.seq = (stream.seq + 1) % 2 ** 32;
    return stream;
  }

  private destroy(stream: Stream): void {
    if (!this.streams.delete(stream.id)) return;
    if (stream.doomed) stream.conn.close();
    else this.registry.release(stream.db, stream.conn, stream.readOnly);
  }

  private sweep(): void {
    const now = Date.now();
    for (const stream of this.streams.values()) {
      if (!stream.busy && now - stream.lastUsed > this.options.streamTimeoutMs) {
        this.destroy(stream); // rolls back whatever transaction was left open
        this.expired.set(stream.id, now);
      }
    }
    for (const [id, at] of this.expired) if (now - at > EXPIRED_MEMORY_MS) this.expired.delete(id);
  }

  // ---- Request handlers ----

  private async handle(stream: Stream, req: StreamRequest): Promise<StreamResult> {
    const ok = (response: Record<string, unknown> & { type: string }): StreamResult => ({ type: "ok", response });
    switch (req.type) {
      case "close":
        stream.closed = true;
        return ok({ type: "close" });
      case "execute":
        try {
          return ok({ type: "execute", result: await this.execute(stream, req.stmt) });
        } catch (error) {
          if (error instanceof HttpError) throw error;
          return { type: "error", error: toProtoError(error) };
        }
      case "batch":
        return ok({ type: "batch", result: await this.batch(stream, req.steps) });
      case "sequence": {
        const sql = this.sqlText(stream, req);
        try {
          checkSql(sql);
          // Not retried on SQLITE_BUSY: earlier statements of the sequence may already have run.
          stream.conn.exec(sql);
          this.afterStatement(stream);
          return ok({ type: "sequence" });
        } catch (error) {
          this.afterStatement(stream);
          return { type: "error", error: toProtoError(error) };
        }
      }
      case "describe":
        try {
          return ok({ type: "describe", result: this.describe(stream, this.sqlText(stream, req)) });
        } catch (error) {
          if (error instanceof HttpError) throw error;
          return { type: "error", error: toProtoError(error) };
        }
      case "store_sql":
        if (stream.sqls.has(req.sqlId)) throw new ProtocolError(`SQL text ${req.sqlId} already exists`, "SQL_EXISTS");
        if (stream.sqls.size >= MAX_STORED_SQLS) {
          return {
            type: "error",
            error: {
              message: `The server already stores ${stream.sqls.size} SQL texts, it cannot store more`,
              code: "SQL_STORE_TOO_MANY",
            },
          };
        }
        if (req.sql.length > MAX_STORED_SQL_LENGTH) {
          return {
            type: "error",
            error: {
              message: `The statement is too large to be stored: ${req.sql.length} > ${MAX_STORED_SQL_LENGTH}`,
              code: "SQL_STORE_TOO_LARGE",
            },
          };
        }
        stream.sqls.set(req.sqlId, req.sql);
        return ok({ type: "store_sql" });
      case "close_sql":
        stream.sqls.delete(req.sqlId);
        return ok({ type: "close_sql" });
      case "get_autocommit":
        return ok({ type: "get_autocommit", is_autocommit: !stream.conn.inTransaction });
    }
  }

  private sqlText(stream: Stream, ref: { sql?: string; sqlId?: number }): string {
    if (ref.sql !== undefined) return ref.sql;
    const sql = stream.sqls.get(ref.sqlId as number);
    if (sql === undefined) throw new ProtocolError(`SQL text ${ref.sqlId} not found`, "SQL_NOT_FOUND");
    return sql;
  }

  private async batch(stream: Stream, steps: BatchStep[]) {
    const outcomes: ("ok" | "error" | undefined)[] = [];
    const stepResults: (StmtResult | null)[] = [];
    const stepErrors: (ProtoError | null)[] = [];
    for (const [i, step] of steps.entries()) {
      if (step.condition && !this.evalCond(stream, step.condition, outcomes, i)) {
        outcomes.push(undefined);
        stepResults.push(null);
        stepErrors.push(null);
        continue;
      }
      try {
        stepResults.push(await this.execute(stream, step.stmt));
        stepErrors.push(null);
        outcomes.push("ok");
      } catch (error) {
        if (error instanceof HttpError) throw error;
        stepResults.push(null);
        stepErrors.push(toProtoError(error));
        outcomes.push("error");
      }
    }
    return { step_results: stepResults, step_errors: stepErrors, replication_index: null };
  }

  private evalCond(
    stream: Stream,
    cond: BatchCond,
    outcomes: ("ok" | "error" | undefined)[],
    current: number,
  ): boolean {
    switch (cond.type) {
      case "ok":
      case "error":
        if (cond.step >= current)
          throw new ProtocolError("Invalid reference to step in a batch condition", "BATCH_COND_BAD_STEP");
        return outcomes[cond.step] === cond.type;
      case "not":
        return !this.evalCond(stream, cond.cond, outcomes, current);
      case "and":
        return cond.conds.every((c) => this.evalCond(stream, c, outcomes, current));
      case "or":
        return cond.conds.some((c) => this.evalCond(stream, c, outcomes, current));
      case "is_autocommit":
        return !stream.conn.inTransaction;
    }
  }

  private async execute(stream: Stream, stmt: Stmt): Promise<StmtResult> {
    const sql = this.sqlText(stream, stmt);
    checkSql(sql);
    const args = bindArgs(sql, stmt.args, stmt.namedArgs);
    const deadline = Date.now() + this.options.busyTimeoutMs;
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      if (stream.doomed) throw new ProtocolError("The database was deleted", "DATABASE_DELETED");
      try {
        const result = this.executeOnce(stream, sql, args, stmt.wantRows);
        this.afterStatement(stream);
        if (BEGIN_READONLY.test(sql)) {
          stream.conn.exec("PRAGMA query_only = 1");
          stream.readOnlyTxn = true;
        }
        return result;
      } catch (error) {
        this.afterStatement(stream);
        // Waiting out a lock is what a SQLite busy timeout would do, minus blocking every other request.
        if (!isBusyError(error) || Date.now() >= deadline) throw error;
        await sleep(delay);
      }
    }
  }

  private executeOnce(stream: Stream, sql: string, args: SqlValue[], wantRows: boolean): StmtResult {
    const conn = stream.conn;
    const started = performance.now();
    const stmt = conn.prepare(sql);
    let cols: StmtResult["cols"] = [];
    let rows: ProtoValue[][] = [];
    let affected: number;
    if (stmt.reader) {
      // Readers must be stepped to completion with all(): run() stops after
      // the first row and leaves the statement active, which blocks COMMIT.
      stmt.raw(true);
      stmt.safeIntegers(true);
      cols = stmt.columns().map((c) => ({ name: c.name, decltype: c.type }));
      const before = this.connStats(conn)[0];
      const raw = stmt.all(args) as unknown[][];
      if (wantRows) rows = raw.map((row) => row.map(encodeValue));
      const [total, changes] = this.connStats(conn);
      // changes() keeps the count of the last write, so only trust it if this statement (e.g. INSERT … RETURNING) wrote.
      affected = total !== before ? Number(changes) : 0;
    } else {
      affected = stmt.run(args).changes;
    }
    const lastInsertRowid = this.connStats(conn)[2];
    return {
      cols,
      rows,
      affected_row_count: affected,
      last_insert_rowid: lastInsertRowid.toString(),
      replication_index: null,
      query_duration_ms: performance.now() - started,
    };
  }

  /** [total_changes(), changes(), last_insert_rowid()] as bigints; the binding's own rowid is a lossy number. */
  private connStats(conn: Connection): [bigint, bigint, bigint] {
    let stmt = this.stats.get(conn);
    if (!stmt) {
      stmt = conn.prepare("SELECT total_changes(), changes(), last_insert_rowid()").raw(true).safeIntegers(true);
      this.stats.set(conn, stmt);
    }
    return (stmt.all([]) as unknown[][])[0] as [bigint, bigint, bigint];
  }

  /** Leave a `BEGIN TRANSACTION READONLY` once its transaction is over. */
  private afterStatement(stream: Stream): void {
    if (stream.readOnlyTxn && !stream.conn.inTransaction) {
      stream.readOnlyTxn = false;
      stream.conn.exec("PRAGMA query_only = 0");
    }
  }

  private describe(stream: Stream, sql: string) {
    checkSql(sql);
    const stmt = stream.conn.prepare(sql);
    const keyword = /^\s*(?:(?:--[^\n]*\n|\/\*[\s\S]*?\*\/)\s*)*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? "";
    const writes = /\b(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b/i.test(sql);
    return {
      params: parameterNames(sql).map((name) => ({ name })),
      cols: stmt.columns().map((c) => ({ name: c.name, decltype: c.type })),
      is_explain: keyword === "EXPLAIN",
      // Approximation: the binding does not expose sqlite3_stmt_readonly().
      is_readonly: ["SELECT", "VALUES", "EXPLAIN", "WITH"].includes(keyword) && !writes,
    };
  }
}
