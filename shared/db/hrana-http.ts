import { type InStatement, LibsqlBatchError, LibsqlError, type ResultSet, type Row } from "@libsql/client/web";
import { fromBase64, toBase64 } from "../crypto/encoding";

/**
 * A lean Hrana-over-HTTP client for what `openDatabase` is asked: one
 * pipeline request per call (a batch in a transaction, then closing the
 * stream), JSON encoding, integers as JavaScript numbers. It sends exactly
 * the batch `@libsql/client` 0.18 sends (BEGIN of the call's mode, each
 * statement conditioned on the one before it and on the transaction still
 * being open, COMMIT, ROLLBACK unless committed) and answers with the same
 * `ResultSet`s and the same errors (`LibsqlError`, `LibsqlBatchError` with
 * the server's SQLite code), so callers cannot tell the two apart.
 *
 * Why not the library: decoding its answers was the largest single cost of a
 * `recall` in the Worker's CPU profile (bench/cpu-profile.ts, 2026-12-07):
 * every cell of every row is set with `Object.defineProperty` twice (by index
 * and by name), and every call builds and throws away error objects (stack
 * traces) to close its stream. Here a row is a plain object with one property
 * per column, its positional access served by a prototype shared by the rows
 * of one answer. It also skips the library's version probe (one more HTTP
 * request per new client): protocol 3 over JSON, which the local libSQL
 * server and Turso both serve.
 */

type HranaValue =
  | { type: "null" }
  | { type: "integer"; value: string }
  | { type: "float"; value: number }
  | { type: "text"; value: string }
  | { type: "blob"; base64: string };

interface StmtResult {
  cols: { name?: string | null; decltype?: string | null }[];
  rows: HranaValue[][];
  affected_row_count: number;
  last_insert_rowid?: string | null;
}

interface HranaError {
  message: string;
  code?: string | null;
}

interface PipelineResponse {
  results: (
    | {
        type: "ok";
        response: {
          type: string;
          result?: { step_results: (StmtResult | null)[]; step_errors: (HranaError | null)[] };
        };
      }
    | { type: "error"; error: HranaError }
  )[];
}

type Cond =
  | { type: "ok"; step: number }
  | { type: "not"; cond: Cond }
  | { type: "and"; conds: Cond[] }
  | { type: "is_autocommit" };

const BEGIN = { read: "BEGIN TRANSACTION READONLY", write: "BEGIN IMMEDIATE", deferred: "BEGIN DEFERRED" } as const;
export type TransactionMode = keyof typeof BEGIN;

const MIN_INTEGER = -9223372036854775808n;
const MAX_INTEGER = 9223372036854775807n;

/** An argument as Hrana's JSON carries it, converted as the library converts it (a number is sent as a float). */
function valueToHrana(value: unknown): HranaValue {
  if (value === null || value === undefined) return { type: "null" };
  if (typeof value === "string") return { type: "text", value };
  if (typeof value === "number") {
    if (!Number.isFinite(value))
      throw new RangeError("Only finite numbers (not Infinity or NaN) can be passed as arguments");
    return { type: "float", value };
  }
  if (typeof value === "bigint") {
    if (value < MIN_INTEGER || value > MAX_INTEGER) {
      throw new RangeError(
        "This bigint value is too large to be represented as a 64-bit integer and passed as argument",
      );
    }
    return { type: "integer", value: String(value) };
  }
  if (typeof value === "boolean") return { type: "integer", value: value ? "1" : "0" };
  if (value instanceof ArrayBuffer || value instanceof Uint8Array) {
    return { type: "blob", base64: toBase64(value instanceof Uint8Array ? value : new Uint8Array(value)) };
  }
  if (value instanceof Date) return { type: "float", value: value.valueOf() };
  if (typeof value === "object") return { type: "text", value: String(value) };
  throw new TypeError("Unsupported type of value");
}

/** A statement as the library writes it: both argument lists always present, one of them empty. */
function stmtToHrana(statement: InStatement, wantRows: boolean) {
  const [sql, args] = typeof statement === "string" ? [statement, undefined] : [statement.sql, statement.args];
  const positional = Array.isArray(args) ? args : [];
  const named = args !== undefined && !Array.isArray(args) ? Object.entries(args) : [];
  return {
    sql,
    args: positional.map(valueToHrana),
    named_args: named.map(([name, value]) => ({ name, value: valueToHrana(value) })),
    want_rows: wantRows,
  };
}

/** The transaction's own statements, the same in every batch (only serialised, never changed). */
const BEGIN_STMT = {
  read: stmtToHrana(BEGIN.read, false),
  write: stmtToHrana(BEGIN.write, false),
  deferred: stmtToHrana(BEGIN.deferred, false),
};
const COMMIT_STMT = stmtToHrana("COMMIT", false);
const ROLLBACK_STMT = stmtToHrana("ROLLBACK", false);

function valueFromHrana(value: HranaValue): unknown {
  switch (value.type) {
    case "null":
      return null;
    case "text":
    case "float":
      return value.value;
    case "integer": {
      const number = Number(value.value);
      if (!Number.isSafeInteger(number)) {
        throw new RangeError("Received integer which is too large to be safely represented as a JavaScript number");
      }
      return number;
    }
    case "blob":
      return fromBase64(value.base64).buffer;
    default:
      throw new LibsqlError("Received unrecognized type of Value", "HRANA_PROTO_ERROR");
  }
}

/**
 * The rows of one answer. Each is a plain object with its columns as
 * enumerable properties (the first of equal names wins, as in the library);
 * `row[i]` and `row.length` come from a prototype made once per answer.
 * A column hidden behind an earlier one of the same name (or without a
 * name) keeps its value under its index on the row itself, not enumerable.
 */
function rowsOf(result: StmtResult, names: string[]): Row[] {
  const proto: Record<string | number, unknown> = {};
  const first = new Map<string, number>();
  const hidden: number[] = [];
  names.forEach((name, index) => {
    if (name !== "" && !first.has(name)) {
      first.set(name, index);
      Object.defineProperty(proto, index, {
        get(this: Record<string, unknown>) {
          return this[name];
        },
      });
    } else hidden.push(index);
  });
  Object.defineProperty(proto, "length", { value: names.length });
  const named = [...first.entries()];
  return result.rows.map((values) => {
    const row = Object.create(proto) as Record<string | number, unknown>;
    for (const [name, index] of named) row[name] = valueFromHrana(values[index] as HranaValue);
    for (const index of hidden)
      Object.defineProperty(row, index, { value: valueFromHrana(values[index] as HranaValue) });
    return row as unknown as Row;
  });
}

/** A value as the library's `ResultSet.toJSON` writes it: bigints as text, blobs as base64. */
function valueToJson(value: unknown): unknown {
  if (typeof value === "bigint") return String(value);
  if (value instanceof ArrayBuffer) return toBase64(new Uint8Array(value));
  return value;
}

class LeanResultSet implements ResultSet {
  constructor(
    readonly columns: string[],
    readonly columnTypes: string[],
    readonly rows: Row[],
    readonly rowsAffected: number,
    readonly lastInsertRowid: bigint | undefined,
  ) {}

  toJSON() {
    return {
      columns: this.columns,
      columnTypes: this.columnTypes,
      rows: this.rows.map((row) => Array.prototype.map.call(row, valueToJson)),
      rowsAffected: this.rowsAffected,
      lastInsertRowid: this.lastInsertRowid === undefined ? null : String(this.lastInsertRowid),
    };
  }
}

function resultSetOf(result: StmtResult): ResultSet {
  const columns = result.cols.map((col) => col.name ?? "");
  return new LeanResultSet(
    columns,
    result.cols.map((col) => col.decltype ?? ""),
    rowsOf(result, columns),
    result.affected_row_count,
    result.last_insert_rowid == null ? undefined : BigInt(result.last_insert_rowid),
  );
}

const errorOf = (error: HranaError) => new LibsqlError(error.message, error.code ?? "UNKNOWN");

/** The error the library reports for an HTTP answer other than 200. */
async function httpError(response: Response): Promise<LibsqlError> {
  const type = response.headers.get("content-type") ?? "text/plain";
  let message = `Server returned HTTP status ${response.status}`;
  if (type === "application/json") {
    const body = (await response.json()) as Partial<HranaError>;
    if (typeof body?.message === "string") return errorOf(body as HranaError);
  } else if (type === "text/plain") {
    const text = (await response.text()).trim();
    if (text !== "") message += `: ${text}`;
  } else await response.body?.cancel();
  return new LibsqlError(message, "SERVER_ERROR");
}

/** Where a database URL's pipeline requests go; null for a URL this client leaves to the library. */
export function pipelineUrl(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  // Query parameters (`tls`, `authToken`) and other schemes (ws, file) keep the library's handling.
  if (parsed.search !== "" || parsed.hash !== "" || parsed.username !== "" || parsed.password !== "") return null;
  if (parsed.protocol === "libsql:") parsed = new URL(`https:${url.slice("libsql:".length)}`);
  else if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return null;
  return new URL("v3/pipeline", parsed).toString();
}

/** What `openDatabase` returns (its `DatabaseClient`, spelled out here so the two files do not import each other). */
export interface HranaHttpClient {
  execute(statement: InStatement, intent: "read" | "write"): Promise<ResultSet>;
  batch(statements: InStatement[], intent: "read" | "write"): Promise<ResultSet[]>;
  close(): void;
}

export function openHranaHttp(endpoint: string, authToken: string, fetcher: typeof fetch): HranaHttpClient {
  const batch = async (statements: InStatement[], mode: TransactionMode): Promise<ResultSet[]> => {
    const steps: { condition?: Cond; stmt: ReturnType<typeof stmtToHrana> }[] = [{ stmt: BEGIN_STMT[mode] }];
    const inTransaction = (step: number): Cond => ({
      type: "and",
      conds: [
        { type: "ok", step },
        { type: "not", cond: { type: "is_autocommit" } },
      ],
    });
    for (const statement of statements) {
      steps.push({ condition: inTransaction(steps.length - 1), stmt: stmtToHrana(statement, true) });
    }
    const commit = steps.length;
    steps.push({ condition: inTransaction(commit - 1), stmt: COMMIT_STMT });
    steps.push({ condition: { type: "not", cond: { type: "ok", step: commit } }, stmt: ROLLBACK_STMT });
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (authToken) headers.authorization = `Bearer ${authToken}`;
    const response = await fetcher(endpoint, {
      method: "POST",
      headers,
      body: JSON.stringify({ baton: null, requests: [{ type: "batch", batch: { steps } }, { type: "close" }] }),
    });
    if (!response.ok) throw await httpError(response);
    const body = (await response.json()) as PipelineResponse;
    const answer = body.results?.[0];
    if (!answer || body.results.length !== 2) {
      throw new LibsqlError("Server returned unexpected number of pipeline results", "HRANA_PROTO_ERROR");
    }
    if (answer.type === "error") throw errorOf(answer.error);
    const result = answer.response.result;
    if (answer.response.type !== "batch" || !result) {
      throw new LibsqlError("Received unexpected type of response", "HRANA_PROTO_ERROR");
    }
    const beginError = result.step_errors[0];
    if (beginError) throw errorOf(beginError);
    const sets = statements.map((_, index) => {
      const step = index + 1;
      const failed = result.step_errors[step];
      if (failed) {
        const error = errorOf(failed);
        throw new LibsqlBatchError(error.message, index, error.code);
      }
      const done = result.step_results[step];
      if (!done) {
        throw new LibsqlBatchError(
          "Statement in a batch was not executed, probably because the transaction has been rolled back",
          index,
          "TRANSACTION_CLOSED",
        );
      }
      return resultSetOf(done);
    });
    const commitError = result.step_errors[commit];
    if (commitError) throw errorOf(commitError);
    return sets;
  };
  return {
    // `execute` is a batch of one, as openDatabase's own comment explains.
    execute: async (statement) => {
      const [result] = await batch([statement], "deferred");
      if (!result) throw new Error("database answered a one-statement batch with no result");
      return result;
    },
    batch: (statements, intent) => batch(statements, intent),
    // Nothing is held between calls: every call is one request that opens and closes its stream.
    close: () => {},
  };
}
