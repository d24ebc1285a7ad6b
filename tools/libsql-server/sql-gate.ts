/**
 * What SQL the server refuses before the engine sees it, for every token:
 * statements that reach outside the caller's own database (ATTACH, DETACH,
 * VACUUM INTO), the engine's file and SQL-running functions (`readfile`,
 * `writefile`, `fsdir`, `sha3_query`, `load_extension`, …), and any PRAGMA
 * but the read-only ones Turso also answers and `foreign_keys`.
 *
 * Why lexical, and why this is not the regex it replaces: the `libsql`
 * binding (0.5.x) exposes SQLite's authorizer only as a table allowlist that
 * also refuses every function call and every transaction, so it cannot guard
 * general SQL. The write restriction of read-only tokens is therefore the
 * engine's own (a `mode=ro` connection, see databases.ts), and this gate only
 * has to find statement kinds and names. It reads the text with SQLite's
 * lexical rules (comments, the four quoting styles, blobs, parameters), so
 * `PRAGMA/**\/query_only`, `PRAGMA 'query_only'` or `"writefile"(…)` name what
 * the engine would see; the rules are allowlists, so what it does not know
 * is refused. Preparing is not a safe way to look: SQLite applies flag
 * pragmas while preparing, so even `describe` goes through this gate first.
 */

type Token = { kind: "word" | "quoted" | "string" | "punct" | "other"; text: string };

/** Functions and table-valued functions that touch files, run SQL from a string, or poke the engine. */
const REFUSED_NAMES = new Set([
  "readfile",
  "writefile",
  "lsmode",
  "fsdir",
  "load_extension",
  "sha3_query",
  "fts3_tokenizer",
  "sqlite_dbpage",
  "sqlite3mc_config",
  "sqlite3mc_config_table",
  "sqlite3mc_codec_data",
]);

/** Statements that reach another file, whatever follows them. */
const REFUSED_STATEMENTS = new Set(["attach", "detach", "vacuum"]);

/** Pragmas that only report, asked without an argument. */
const READ_PRAGMAS = new Set([
  "application_id",
  "collation_list",
  "compile_options",
  "data_version",
  "database_list",
  "encoding",
  "foreign_key_check",
  "foreign_key_list",
  "foreign_keys",
  "freelist_count",
  "function_list",
  "index_info",
  "index_list",
  "index_xinfo",
  "integrity_check",
  "journal_mode",
  "module_list",
  "page_count",
  "page_size",
  "pragma_list",
  "query_only",
  "quick_check",
  "schema_version",
  "table_info",
  "table_list",
  "table_xinfo",
  "user_version",
]);

/** Pragmas whose argument names what to report on (a table, an index, a row limit), never a new value. */
const READ_PRAGMAS_WITH_ARGUMENT = new Set([
  "foreign_key_check",
  "foreign_key_list",
  "index_info",
  "index_list",
  "index_xinfo",
  "integrity_check",
  "quick_check",
  "table_info",
  "table_list",
  "table_xinfo",
]);

/**
 * Pragmas a client may set: per-connection behaviour Turso accepts too
 * (`@libsql/client`'s `migrate()` turns foreign keys off and on around a
 * script). The pool puts each back to its default when a stream ends.
 */
const SETTABLE_PRAGMAS = new Set(["foreign_keys"]);

class RefusedSql extends Error {
  /** SQLite's own code for an authorizer refusal, so clients see what Turso would send. */
  readonly code = "SQLITE_AUTH";
}

const isSpace = (c: string) => c === " " || c === "\t" || c === "\n" || c === "\f" || c === "\r";
/** SQLite's identifier characters: ASCII letters, digits, `_`, `$`, and every non-ASCII character. */
const isIdChar = (c: string) => /[A-Za-z0-9_$]/.test(c) || c.charCodeAt(0) >= 0x80;

/** Index just past a quoted run starting at `start`, where a doubled `close` stands for itself. */
function skipQuoted(sql: string, start: number, close: string, doubles: boolean): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === close) {
      if (doubles && sql[i + 1] === close) i += 2;
      else return i + 1;
    } else i += 1;
  }
  return i;
}

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    if (isSpace(c)) {
      i += 1;
    } else if (c === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? sql.length : end + 1;
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (c === "'") {
      const end = skipQuoted(sql, i, "'", true);
      tokens.push({ kind: "string", text: sql.slice(i + 1, end - 1).replaceAll("''", "'") });
      i = end;
    } else if (c === '"' || c === "`") {
      const end = skipQuoted(sql, i, c, true);
      tokens.push({ kind: "quoted", text: sql.slice(i + 1, end - 1).replaceAll(c + c, c) });
      i = end;
    } else if (c === "[") {
      const end = skipQuoted(sql, i, "]", false);
      tokens.push({ kind: "quoted", text: sql.slice(i + 1, end - 1) });
      i = end;
    } else if ((c === "x" || c === "X") && sql[i + 1] === "'") {
      i = skipQuoted(sql, i + 1, "'", false);
      tokens.push({ kind: "other", text: "blob" });
    } else if (c === "?") {
      // A numbered parameter is `?` and digits only: `?1readfile` is `?1` then a name, as SQLite reads it.
      let j = i + 1;
      while (j < sql.length && /[0-9]/.test(sql[j] as string)) j += 1;
      tokens.push({ kind: "other", text: sql.slice(i, j) });
      i = j;
    } else if (c === ":" || c === "@" || c === "$") {
      // A named parameter: its name is never an identifier the engine resolves. (SQLite's
      // `#name` and `$name(…)` forms are read as punctuation and names here: stricter, never looser.)
      let j = i + 1;
      while (j < sql.length && (isIdChar(sql[j] as string) || sql[j] === ":")) j += 1;
      tokens.push({ kind: "other", text: sql.slice(i, j) });
      i = j;
    } else if (isIdChar(c)) {
      let j = i + 1;
      while (j < sql.length && isIdChar(sql[j] as string)) j += 1;
      tokens.push({ kind: "word", text: sql.slice(i, j) });
      i = j;
    } else {
      tokens.push({ kind: "punct", text: c });
      i += 1;
    }
  }
  return tokens;
}

/** Split at top-level semicolons; a trigger body splits too, which only makes the checks stricter. */
function statements(tokens: Token[]): Token[][] {
  const result: Token[][] = [[]];
  for (const token of tokens) {
    if (token.kind === "punct" && token.text === ";") result.push([]);
    else result.at(-1)?.push(token);
  }
  return result.filter((statement) => statement.length > 0);
}

const lower = (token: Token | undefined) => token?.text.toLowerCase();
const isName = (token: Token | undefined) => token?.kind === "word" || token?.kind === "quoted";

function refusePragma(statement: Token[], at: number): void {
  let i = at + 1;
  let name = statement[i];
  if (statement[i + 1]?.text === ".") {
    i += 2;
    name = statement[i];
  }
  const pragma = isName(name) || name?.kind === "string" ? lower(name) : undefined;
  const rest = statement.slice(i + 1);
  const withArgument = rest.length > 0;
  const allowed = withArgument
    ? pragma !== undefined &&
      (SETTABLE_PRAGMAS.has(pragma) || (READ_PRAGMAS_WITH_ARGUMENT.has(pragma) && rest[0]?.text === "("))
    : pragma !== undefined && READ_PRAGMAS.has(pragma);
  if (!allowed) {
    throw new RefusedSql(
      `not authorized: PRAGMA ${pragma ?? "?"}${withArgument ? " with a value" : ""} is refused by this server ` +
        "(only pragmas that report, such as table_info or user_version, are answered)",
    );
  }
}

/** Throw `RefusedSql` if any statement in `sql` is one the server refuses. */
export function checkSql(sql: string): void {
  // SQLite stops reading at NUL; this gate would not, so the two could disagree.
  if (sql.includes("\0")) throw new RefusedSql("not authorized: SQL text may not contain NUL");
  for (const statement of statements(tokenize(sql))) {
    let first = 0;
    // EXPLAIN [QUERY PLAN] still prepares the statement, which applies flag pragmas.
    if (lower(statement[first]) === "explain") first += lower(statement[first + 1]) === "query" ? 3 : 1;
    const keyword = statement[first]?.kind === "word" ? lower(statement[first]) : undefined;
    if (keyword && REFUSED_STATEMENTS.has(keyword)) {
      throw new RefusedSql(
        `not authorized: ${keyword.toUpperCase()} is refused by this server (it reaches files outside this database)`,
      );
    }
    if (keyword === "pragma") refusePragma(statement, first);
    for (const token of statement) {
      // Strings too: SQLite accepts a string literal where a table name goes (`FROM 'fsdir'`).
      if (token.kind !== "punct" && token.kind !== "other" && REFUSED_NAMES.has(token.text.toLowerCase())) {
        throw new RefusedSql(`not authorized: ${token.text} is refused by this server`);
      }
    }
  }
}
