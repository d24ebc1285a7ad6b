/**
 * The fence around every request the OAuth library sends out on its own:
 * Client ID Metadata Documents (a `client_id` that is an https URL, which an
 * unauthenticated `GET /authorize` names) and the JWKS such a document may
 * point to. Anyone can make the library fetch a URL of their choosing, so
 * each fetch is checked here before it leaves:
 *
 * - the host must be a public DNS name on https's default port: no IP
 *   literals, no `localhost`, no private-use suffixes (`.local`,
 *   `.internal`, …), no single-label names. Names that *resolve* to a
 *   private address cannot be seen from a Worker; production's
 *   `global_fetch_strictly_public` refuses those — a second line, not the first;
 * - redirects are not followed (a public host could bounce the fetch inward,
 *   and a client's metadata URL is its identity: it must answer itself);
 * - the answer is read as a stream and cut at `MAX_BYTES`, and the whole
 *   exchange is cut at `TIMEOUT_MS`;
 * - a Client ID Metadata Document (JSON whose `client_id` is its own URL)
 *   meets the same rules as a registered client (shared/oauth/client-metadata.ts);
 * - at most `MAX_CONCURRENT` such fetches run at once **per isolate** (one
 *   Worker instance; Cloudflare runs many, so this bounds what one instance
 *   spends on strangers' URLs, while the per-address limit on `/authorize`
 *   bounds what one address can ask for). Beyond it a fetch is refused at
 *   once rather than queued, so waiting requests cannot pile up.
 *
 * workers-oauth-provider 1.2 has no hook for its outbound fetch: it calls the
 * global `fetch` and marks its requests with its own User-Agent
 * (`workers-oauth-provider/<version>`). So the global `fetch` is wrapped once
 * per isolate, and requests carrying that mark go through the fence; every
 * other request passes untouched. test/worker/oauth-outbound.test.ts pins
 * that the library's CIMD fetch still carries the mark (a redirect it would
 * otherwise follow is refused), so an upgrade that drops it fails there.
 */

import { clientMetadataProblem } from "../../shared/oauth/client-metadata";

const LIBRARY_USER_AGENT_PREFIX = "workers-oauth-provider/";
export const MAX_BYTES = 16 * 1024;
const TIMEOUT_MS = 5_000;
export const MAX_CONCURRENT = 8;

/** The refusal the library reports as a `CimdFetchError`; its message is all that survives the wrap. */
class OutboundRefused extends Error {
  constructor(
    readonly reason: "host" | "busy" | "redirect" | "too_large" | "timeout" | "client_metadata",
    message: string,
  ) {
    super(message);
    this.name = "OutboundRefused";
  }
}

export const BUSY_MESSAGE = "too many client metadata fetches in progress; try again shortly";

/** Names that only mean something on a private network (RFC 6761/6762/8375 and common private-use suffixes). */
const PRIVATE_SUFFIXES = [".localhost", ".local", ".internal", ".intranet", ".lan", ".home.arpa", ".arpa", ".corp"];

/**
 * Why `url` may not be fetched, or null when it may. IP literals are refused
 * whatever their range: a client identifier is a stable name, no real client
 * publishes at a bare address, and classifying ranges (IPv4-mapped IPv6,
 * NAT64, 6to4, decimal and octal forms) is where such checks go wrong.
 */
function refusedHost(url: URL): string | null {
  if (url.protocol !== "https:") return "only https URLs are fetched";
  if (url.port !== "" && url.port !== "443") return "only https's default port is fetched";
  const host = url.hostname.toLowerCase().replace(/\.$/, "");
  // WHATWG URL parsing has already turned `2130706433`, `0x7f.1` and `127.1` into dotted quads.
  if (host.startsWith("[") || /^\d+\.\d+\.\d+\.\d+$/.test(host)) return "IP address literals are not fetched";
  if (!host.includes(".")) return "single-label host names are not public";
  if (host === "localhost" || PRIVATE_SUFFIXES.some((suffix) => host.endsWith(suffix))) {
    return "private-network host names are not fetched";
  }
  return null;
}

let inFlight = 0;

/** The network beneath the fence. An object, so a test can stand an origin in for it under the fence. */
export const network: { fetch: typeof fetch } = { fetch: globalThis.fetch.bind(globalThis) };

async function readLimited(response: Response, signal: AbortSignal): Promise<Uint8Array> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > MAX_BYTES) {
    await response.body?.cancel().catch(() => undefined);
    throw new OutboundRefused("too_large", `response is ${declared} bytes; the limit is ${MAX_BYTES}`);
  }
  const reader = response.body?.getReader();
  if (!reader) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    if (signal.aborted) throw new OutboundRefused("timeout", `no complete answer within ${TIMEOUT_MS} ms`);
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw new OutboundRefused("too_large", `response exceeds ${MAX_BYTES} bytes`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/**
 * The rules' verdict on a Client ID Metadata Document, recognised by its
 * `client_id` naming its own URL (CIMD requires that); anything else (a
 * JWKS, a body that is not JSON) is left to the library to judge.
 */
function clientDocumentProblem(url: string, bytes: Uint8Array): string | null {
  let document: unknown;
  try {
    document = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
  if (document === null || typeof document !== "object" || Array.isArray(document)) return null;
  const metadata = document as Record<string, unknown>;
  return metadata.client_id === url ? clientMetadataProblem(metadata) : null;
}

/** One fenced fetch: host checked, a slot taken, no redirects, bounded in bytes and time. */
async function fencedFetch(request: Request): Promise<Response> {
  const hostProblem = refusedHost(new URL(request.url));
  if (hostProblem) throw new OutboundRefused("host", hostProblem);
  if (inFlight >= MAX_CONCURRENT) throw new OutboundRefused("busy", BUSY_MESSAGE);
  inFlight += 1;
  const timeout = AbortSignal.timeout(TIMEOUT_MS);
  const signal = AbortSignal.any([timeout, request.signal]);
  try {
    const response = await network.fetch(new Request(request, { redirect: "manual", signal }));
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel().catch(() => undefined);
      throw new OutboundRefused("redirect", `answered ${response.status}; redirects are not followed`);
    }
    const bytes = await readLimited(response, signal);
    const problem = clientDocumentProblem(request.url, bytes);
    if (problem) throw new OutboundRefused("client_metadata", problem);
    // Only what the library reads back: the status and the caching and type headers.
    const headers = new Headers();
    for (const name of ["content-type", "cache-control", "etag", "last-modified"]) {
      const value = response.headers.get(name);
      if (value !== null) headers.set(name, value);
    }
    return new Response(bytes, { status: response.status, headers });
  } catch (error) {
    if (timeout.aborted && !(error instanceof OutboundRefused)) {
      throw new OutboundRefused("timeout", `no complete answer within ${TIMEOUT_MS} ms`);
    }
    throw error;
  } finally {
    inFlight -= 1;
  }
}

const installed = Symbol.for("muninn.oauthOutboundFence");

/** Wrap the global `fetch` once per isolate so the library's own requests go through `fencedFetch`. */
export function fenceLibraryFetches(): void {
  const global = globalThis as typeof globalThis & { [installed]?: true };
  if (global[installed]) return;
  global[installed] = true;
  const passThrough = globalThis.fetch.bind(globalThis);
  globalThis.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
    if (userAgentOf(input, init)?.startsWith(LIBRARY_USER_AGENT_PREFIX)) return fencedFetch(new Request(input, init));
    return passThrough(input, init);
  };
}

/**
 * The User-Agent a fetch would send, as `new Headers(init.headers)` would read
 * it (names without case, the first of repeated values first, surrounding
 * space dropped), without building a `Headers` for the plain objects and
 * arrays almost every fetch passes: every database call of the Worker passes
 * through here (bench/db-round-trip.ts). Anything else is read through `Headers`.
 */
function userAgentOf(input: RequestInfo | URL, init: RequestInit | undefined): string | null {
  const headers = init?.headers;
  if (!headers) return input instanceof Request ? input.headers.get("user-agent") : null;
  if (headers instanceof Headers) return headers.get("user-agent");
  if (Array.isArray(headers)) {
    for (const pair of headers) if (String(pair[0]).toLowerCase() === "user-agent") return String(pair[1]).trim();
    return null;
  }
  if (Object.getPrototypeOf(headers) !== Object.prototype) return new Headers(headers).get("user-agent");
  for (const name in headers) {
    if (name.toLowerCase() === "user-agent") return String((headers as Record<string, string>)[name]).trim();
  }
  return null;
}
