/**
 * `tools/list` answers the same for every request of a protocol version (the
 * tools change only with a deploy), yet serving it through the SDK builds a
 * server and re-serialises ~20 KB of schemas per request. The first answer
 * the SDK gives for a request shape is kept per isolate and replayed for
 * later requests of that shape with only the JSON-RPC id swapped in, so a
 * replay is byte-for-byte what the SDK would send.
 *
 * The key is everything the SDK's answer can depend on besides the id: the
 * era, the server version, whether the credential may write (a read-only
 * one is listed only the read-only tools, so there are two answers per
 * shape, not one per credential), the headers it validates (`accept`, `mcp-*`
 * except the session id, which admission has already checked) and the whole
 * message minus its id (so `_meta`, a cursor or a stray field makes its own
 * entry, or its own error, never a wrong hit). Only a plain 200 JSON answer
 * carrying a result is kept; errors always go through the SDK.
 *
 * A client that offers gzip (every MCP client's HTTP stack does; the route
 * reads what the client itself sent, not the header the platform rewrites)
 * gets the replay already compressed: the kept answer is deflated once, and
 * each replay only splices its id into the compressed bytes (`gzipReplay`).
 * Otherwise the runtime would compress the same 20 KB again for every
 * request, which measured as much as admission itself (docs/mcp.md). The
 * answer holds no secret, so compressing it next to an id the client chose
 * reveals nothing (a BREACH-style length attack needs both), and the id goes
 * in a stored block, not through the compressor.
 */
import { constants, crc32, deflateRawSync } from "node:zlib";

/** Clients of one isolate send a handful of shapes; the cap bounds what a caller sending odd shapes can make us hold. */
const MAX_ENTRIES = 64;

/** Only 200 answers are kept (see `keepToolsList`), so an entry has no status of its own. */
interface Entry {
  headers: [string, string][];
  /** The answer's UTF-8 bytes split where its id goes, encoded once so a replay only copies them. */
  before: Uint8Array;
  after: Uint8Array;
  gzip: GzipTemplate;
}

/**
 * A gzip member of `before + id + after` with the id left open. `head` is the
 * gzip header and `before` deflated up to a sync flush (no final block, byte
 * aligned), `tail` is `after` deflated on its own as the final block, so
 * neither refers back into bytes it was not compressed with; the id goes
 * between them as a stored block. The CRC-32 of `before` is kept so a replay
 * only runs the checksum over the id and `after`.
 */
interface GzipTemplate {
  head: Uint8Array;
  tail: Uint8Array;
  crcBefore: number;
}

/** RFC 1952 header: magic, deflate, no flags, no mtime, no extra flags, OS unknown. */
const GZIP_HEADER = Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff);
/** A stored block holds at most this many bytes (RFC 1951 §3.2.4). */
const STORED_BLOCK_MAX = 0xffff;

const entries = new Map<string, Entry>();

/** A placeholder no JSON-RPC id serialises to, marking where the id sits in the kept answer. */
const ID_MARK = "\u0000muninn-id\u0000";

const encoder = new TextEncoder();

export interface ListRequest {
  key: string;
  id: string | number;
}

/** A kept answer ready to send with status 200: the SDK's headers and bytes with this request's id. */
export interface CachedAnswer {
  headers: [string, string][];
  body: Uint8Array<ArrayBuffer>;
  /** The body is already gzip-encoded: send it with `Content-Encoding: gzip`, untouched by the runtime. */
  gzip: boolean;
}

/**
 * Whether an `Accept-Encoding` value takes gzip (RFC 9110 §12.5.3): named
 * (or as `x-gzip`) or covered by `*`, with a weight above zero.
 */
export function acceptsGzip(header: string | null | undefined): boolean {
  if (!header) return false;
  let wildcard = false;
  for (const part of header.split(",")) {
    const [coding = "", ...params] = part.split(";").map((item) => item.trim().toLowerCase());
    const q = params.find((param) => param.startsWith("q="));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    const accepted = Number.isFinite(weight) && weight > 0;
    if (coding === "gzip" || coding === "x-gzip") return accepted;
    if (coding === "*") wildcard = accepted;
  }
  return wildcard;
}

/**
 * The cache key of a single `tools/list` request, or null when it is not one
 * (then the SDK serves it uncached). `accept` is the Accept header as the SDK
 * will see it (after the route's default for clients that state none).
 */
export function toolsListRequest(
  era: "legacy" | "modern",
  version: string,
  mayWrite: boolean,
  headers: Headers,
  accept: string,
  body: unknown,
): ListRequest | null {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return null;
  const { id, ...rest } = body as Record<string, unknown>;
  if (rest.method !== "tools/list" || (typeof id !== "string" && typeof id !== "number")) return null;
  const mcpHeaders: [string, string][] = [];
  // Headers iterate lower-cased and sorted by name, so the key does not depend on the client's order.
  for (const [name, value] of headers) {
    if (name.startsWith("mcp-") && name !== "mcp-session-id") mcpHeaders.push([name, value]);
  }
  return { key: JSON.stringify([era, version, mayWrite, accept, mcpHeaders, rest]), id };
}

/** The kept answer for this request, or null on a miss; gzip-encoded when `gzip` says the client takes it. */
export function cachedToolsList(list: ListRequest, gzip: boolean): CachedAnswer | null {
  const entry = entries.get(list.key);
  if (!entry) return null;
  const id = encoder.encode(JSON.stringify(list.id));
  if (gzip && id.length <= STORED_BLOCK_MAX) {
    return { headers: entry.headers, body: gzipReplay(entry, id), gzip: true };
  }
  const body = concat(entry.before, id, entry.after);
  return { headers: entry.headers, body, gzip: false };
}

/**
 * The gzip member of `before + id + after` from the kept template: the
 * deflated `before`, a non-final stored block with the id, the deflated
 * `after`, then the CRC-32 and length of the whole (RFC 1952 §2.3).
 */
function gzipReplay(entry: Entry, id: Uint8Array): Uint8Array<ArrayBuffer> {
  const { head, tail, crcBefore } = entry.gzip;
  const stored = Uint8Array.of(0, id.length & 0xff, id.length >>> 8, ~id.length & 0xff, (~id.length >>> 8) & 0xff);
  const trailer = new Uint8Array(8);
  const view = new DataView(trailer.buffer);
  view.setUint32(0, crc32(entry.after, crc32(id, crcBefore)), true);
  view.setUint32(4, (entry.before.length + id.length + entry.after.length) >>> 0, true);
  return concat(head, stored, id, tail, trailer);
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Keep the SDK's answer when it is a plain JSON result; returns a response with the same status, headers and body. */
export async function keepToolsList(list: ListRequest, response: Response): Promise<Response> {
  if (response.status !== 200 || !response.headers.get("content-type")?.startsWith("application/json")) {
    return response;
  }
  const text = await response.text();
  const entry = entryFrom(list, response, text);
  if (entry) {
    if (entries.size >= MAX_ENTRIES) entries.clear();
    entries.set(list.key, entry);
  }
  return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
}

function entryFrom(list: ListRequest, response: Response, text: string): Entry | null {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return null;
  }
  if (message === null || typeof message !== "object" || Array.isArray(message)) return null;
  const answer = message as Record<string, unknown>;
  if (answer.id !== list.id || !("result" in answer)) return null;
  const [before, after, ...extra] = JSON.stringify({ ...answer, id: ID_MARK }).split(JSON.stringify(ID_MARK));
  // Keep it only if the template reproduces the SDK's own bytes exactly.
  if (before === undefined || after === undefined || extra.length > 0) return null;
  if (before + JSON.stringify(list.id) + after !== text) return null;
  // The length differs with the id; the runtime sets it for each replay.
  const headers = [...response.headers].filter(([name]) => name !== "content-length");
  const beforeBytes = encoder.encode(before);
  const afterBytes = encoder.encode(after);
  const gzip: GzipTemplate = {
    head: concat(GZIP_HEADER, deflateRawSync(beforeBytes, { level: 9, finishFlush: constants.Z_SYNC_FLUSH })),
    tail: deflateRawSync(afterBytes, { level: 9 }),
    crcBefore: crc32(beforeBytes),
  };
  return { headers, before: beforeBytes, after: afterBytes, gzip };
}
