/**
 * `tools/list` answers the same for every request of a protocol version (the
 * tools change only with a deploy), yet serving it through the SDK builds a
 * server and re-serialises ~20 KB of schemas per request. The first answer
 * the SDK gives for a request shape is kept per isolate and replayed for
 * later requests of that shape with only the JSON-RPC id swapped in, so a
 * replay is byte-for-byte what the SDK would send.
 *
 * The key is everything the SDK's answer can depend on besides the id: the
 * era, the server version, the headers it validates (`accept`, `mcp-*`
 * except the session id, which admission has already checked) and the whole
 * message minus its id (so `_meta`, a cursor or a stray field makes its own
 * entry, or its own error, never a wrong hit). Only a plain 200 JSON answer
 * carrying a result is kept; errors always go through the SDK.
 */

/** Clients of one isolate send a handful of shapes; the cap bounds what a caller sending odd shapes can make us hold. */
const MAX_ENTRIES = 64;

interface Entry {
  status: number;
  headers: [string, string][];
  /** The answer's UTF-8 bytes split where its id goes, encoded once so a replay only copies them. */
  before: Uint8Array;
  after: Uint8Array;
}

const entries = new Map<string, Entry>();

/** A placeholder no JSON-RPC id serialises to, marking where the id sits in the kept answer. */
const ID_MARK = "\u0000muninn-id\u0000";

const encoder = new TextEncoder();

export interface ListRequest {
  key: string;
  id: string | number;
}

/** A kept answer ready to send: the SDK's status, headers and bytes with this request's id. */
export interface CachedAnswer {
  status: number;
  headers: [string, string][];
  body: Uint8Array<ArrayBuffer>;
}

/**
 * The cache key of a single `tools/list` request, or null when it is not one
 * (then the SDK serves it uncached). `accept` is the Accept header as the SDK
 * will see it (after the route's default for clients that state none).
 */
export function toolsListRequest(
  era: "legacy" | "modern",
  version: string,
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
  return { key: JSON.stringify([era, version, accept, mcpHeaders, rest]), id };
}

/** The kept answer for this request, or null on a miss. */
export function cachedToolsList(list: ListRequest): CachedAnswer | null {
  const entry = entries.get(list.key);
  if (!entry) return null;
  const id = encoder.encode(JSON.stringify(list.id));
  const body = new Uint8Array(entry.before.length + id.length + entry.after.length);
  body.set(entry.before, 0);
  body.set(id, entry.before.length);
  body.set(entry.after, entry.before.length + id.length);
  return { status: entry.status, headers: entry.headers, body };
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
  return { status: response.status, headers, before: encoder.encode(before), after: encoder.encode(after) };
}
