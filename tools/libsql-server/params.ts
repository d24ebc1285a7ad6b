/**
 * Statement parameters.
 *
 * The `libsql` binding can bind an object by name, but it aborts the whole
 * process (a Rust panic) when that statement also has a nameless `?`. So we
 * always bind a positional array, and translate named arguments to indexes
 * ourselves. SQLite does not expose parameter names through this binding, so
 * `parameterNames` re-derives them by scanning the SQL the way SQLite's
 * tokenizer assigns indexes: `?` takes the next index, `?NNN` takes NNN, and
 * `:name` / `@name` / `$name` take the next index on first use and reuse it
 * after.
 */
import type { SqlValue } from "./values.js";

export interface NamedArg {
  name: string;
  value: SqlValue;
}

function isIdChar(c: string): boolean {
  return /[A-Za-z0-9_$]/.test(c) || c.charCodeAt(0) >= 0x80;
}

/** Names of the parameters by index (entry i is parameter i + 1); `null` for a nameless `?`. */
export function parameterNames(sql: string): (string | null)[] {
  const names: (string | null)[] = [];
  const seen = new Set<string>();
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    if (c === "'" || c === '"' || c === "`") {
      // Quoted text or identifier; a doubled quote is an escaped quote.
      i++;
      while (i < n) {
        if (sql[i] === c) {
          if (sql[i + 1] === c) i += 2;
          else break;
        } else i++;
      }
      i++;
    } else if (c === "[") {
      const end = sql.indexOf("]", i + 1);
      i = end < 0 ? n : end + 1;
    } else if (c === "-" && next === "-") {
      const end = sql.indexOf("\n", i + 2);
      i = end < 0 ? n : end + 1;
    } else if (c === "/" && next === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === "?") {
      let j = i + 1;
      while (j < n && /[0-9]/.test(sql[j] as string)) j++;
      if (j > i + 1) {
        const index = Number(sql.slice(i + 1, j));
        while (names.length < index) names.push(null);
        names[index - 1] = sql.slice(i, j);
      } else {
        names.push(null);
      }
      i = j;
    } else if (c === ":" || c === "@" || c === "$") {
      let j = i + 1;
      while (j < n) {
        if (isIdChar(sql[j] as string)) j++;
        else if (sql[j] === ":" && sql[j + 1] === ":")
          j += 2; // SQLite allows `::` inside names
        else break;
      }
      if (j > i + 1) {
        const name = sql.slice(i, j);
        if (!seen.has(name)) {
          seen.add(name);
          names.push(name);
        }
      }
      i = j;
    } else if (isIdChar(c)) {
      // Skip whole words so `a$b` or `x1` are not mistaken for parameters.
      while (i < n && isIdChar(sql[i] as string)) i++;
    } else {
      i++;
    }
  }
  return names;
}

/**
 * Build the positional argument array for a statement. Named arguments may be
 * given with their prefix (`:a`) or without (`a`), as sqld accepts both.
 */
export function bindArgs(sql: string, args: SqlValue[], namedArgs: NamedArg[]): SqlValue[] {
  if (namedArgs.length === 0) return args;
  const exact = new Map<string, SqlValue>();
  const bare = new Map<string, SqlValue>();
  for (const { name, value } of namedArgs) {
    exact.set(name, value);
    bare.set(/^[:@$]/.test(name) ? name.slice(1) : name, value);
  }
  const names = parameterNames(sql);
  const out: SqlValue[] = [];
  for (let i = 0; i < Math.max(names.length, args.length); i++) {
    const name = names[i];
    let value: SqlValue | undefined;
    if (name && !name.startsWith("?")) value = exact.get(name) ?? bare.get(name.slice(1));
    out.push(value !== undefined ? value : (args[i] ?? null));
  }
  return out;
}
