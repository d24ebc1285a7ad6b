/**
 * Hrana JSON value encoding <-> values the `libsql` engine binds and returns.
 *
 * Integers travel as decimal strings so 64-bit values survive JSON; the engine
 * is run with safe integers on, so INTEGER comes back as `bigint` and REAL as
 * `number`, which keeps the two types apart on the way out.
 */
import { randomBytes } from "node:crypto";
import { ProtocolError } from "./errors.js";

/** What we hand to the engine. Never a boolean or plain object: the native binding aborts the process on those. */
export type SqlValue = null | bigint | number | string | Buffer;

export type ProtoValue =
  | { type: "null" }
  | { type: "integer"; value: string }
  | { type: "float"; value: number }
  | { type: "text"; value: string }
  | { type: "blob"; base64: string };

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function decodeValue(raw: unknown): SqlValue {
  if (raw === null || typeof raw !== "object") throw new ProtocolError("Value must be an object");
  const value = raw as Record<string, unknown>;
  switch (value.type) {
    case "null":
      return null;
    case "integer": {
      const v = value.value;
      let n: bigint;
      if (typeof v === "string" && /^-?\d+$/.test(v)) n = BigInt(v);
      else if (typeof v === "number" && Number.isSafeInteger(v)) n = BigInt(v);
      else throw new ProtocolError(`Invalid integer value: ${JSON.stringify(v)}`);
      if (n < I64_MIN || n > I64_MAX) throw new ProtocolError(`Integer value out of 64-bit range: ${n}`);
      return n;
    }
    case "float":
      if (typeof value.value !== "number") throw new ProtocolError("Float value must be a number");
      return value.value;
    case "text":
      if (typeof value.value !== "string") throw new ProtocolError("Text value must be a string");
      return value.value;
    case "blob":
      if (typeof value.base64 !== "string" || !BASE64.test(value.base64)) {
        throw new ProtocolError("Blob value must carry standard base64 in `base64`");
      }
      return Buffer.from(value.base64, "base64");
    default:
      throw new ProtocolError(`Value type not recognized: ${JSON.stringify(value.type)}`);
  }
}

export function encodeValue(v: unknown): ProtoValue {
  if (v === null || v === undefined) return { type: "null" };
  if (typeof v === "bigint") return { type: "integer", value: v.toString() };
  // With safe integers on, a JS number only ever comes from a REAL.
  if (typeof v === "number") return { type: "float", value: v };
  if (typeof v === "string") return { type: "text", value: v };
  if (v instanceof Uint8Array)
    return { type: "blob", base64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64") };
  throw new Error(`Cannot encode value of type ${typeof v}`);
}

// JSON has no infinities, but SQLite floats can overflow to ±Inf. JS's
// JSON.parse reads `1e999` as Infinity, so we write that literal; a per-process
// nonce keeps the placeholder from ever matching user text.
const INFINITY_MARK = `\u0000inf:${randomBytes(8).toString("hex")}:`;

/** JSON.stringify that writes ±Infinity as ±1e999 instead of null. */
export function toJson(value: unknown): string {
  let sawInfinity = false;
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "number" && (v === Infinity || v === -Infinity)) {
      sawInfinity = true;
      return `${INFINITY_MARK}${v > 0 ? "+" : "-"}`;
    }
    return v;
  });
  if (!sawInfinity) return text;
  const quoted = JSON.stringify(INFINITY_MARK).slice(1, -1);
  return text.replaceAll(`"${quoted}+"`, "1e999").replaceAll(`"${quoted}-"`, "-1e999");
}
