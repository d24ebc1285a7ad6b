/**
 * Tool arguments and results are snake_case on the wire (`idempotency_key`,
 * `superseded_by`), as MCP tools conventionally are; the memory store speaks
 * camelCase TypeScript. Both directions cross here, in one place, with the
 * types following the values: `toWire(memory)` is typed as the wire shape the
 * output schemas describe, `fromWire(args)` as the domain input.
 *
 * Tool results leave out null fields rather than sending `null`: output schemas
 * then need no `type: ["string", "null"]`, which several MCP clients cannot
 * read (MCP Inspector flags each one as a portability problem). An absent
 * field means "none" (no title, no next page, not superseded).
 */

type SnakeCase<S extends string> = S extends `${infer Head}${infer Tail}`
  ? `${Head extends Lowercase<Head> ? Head : `_${Lowercase<Head>}`}${SnakeCase<Tail>}`
  : S;

type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;

type MaybeKeys<T> = { [K in keyof T]-?: null extends T[K] ? K : undefined extends T[K] ? K : never }[keyof T];

/** A domain value with snake_case keys, values (nulls included) as they are. */
export type Snake<T> = T extends readonly (infer Item)[]
  ? Snake<Item>[]
  : T extends object
    ? { [K in keyof T as SnakeCase<K & string>]: Snake<T[K]> }
    : T;

/** The form of a tool result: snake_case keys, null and undefined fields left out (so optional). */
export type Wire<T> = T extends readonly (infer Item)[]
  ? Wire<Item>[]
  : T extends object
    ? { [K in Exclude<keyof T, MaybeKeys<T>> as SnakeCase<K & string>]: Wire<T[K]> } & {
        [K in MaybeKeys<T> as SnakeCase<K & string>]?: Wire<Exclude<T[K], null | undefined>>;
      }
    : T;

/** The domain form of tool arguments: camelCase keys, values as given. */
export type Domain<T> = T extends readonly (infer Item)[]
  ? Domain<Item>[]
  : T extends object
    ? { [K in keyof T as CamelCase<K & string>]: Domain<T[K]> }
    : T;

const toSnake = (key: string) => key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

/** A domain field's name on the wire (`toId` → `to_id`), for errors that name one. */
export const wireName = toSnake;
const toCamel = (key: string) => key.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());

function convert(value: unknown, rename: (key: string) => string, dropNull: boolean): unknown {
  if (Array.isArray(value)) return value.map((item) => convert(item, rename, dropNull));
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (inner === undefined || (dropNull && inner === null)) continue;
    out[rename(key)] = convert(inner, rename, dropNull);
  }
  return out;
}

/** A domain value in snake_case, nulls kept (a resource's JSON shows every field). Undefined fields are dropped. */
export function toWire<T>(value: T): Snake<T> {
  // The recursion above builds exactly the shape `Snake<T>` spells out; TypeScript cannot follow it.
  return convert(value, toSnake, false) as Snake<T>;
}

/** A domain value as a tool result: snake_case, null fields left out. */
export function toResult<T>(value: T): Wire<T> {
  // As above, for `Wire<T>`.
  return convert(value, toSnake, true) as Wire<T>;
}

export function fromWire<T>(value: T): Domain<T> {
  // Arguments keep their nulls: `title: null` in `update` means "clear the title".
  return convert(value, toCamel, false) as Domain<T>;
}
