import { isInitializeRequest, type LoggingLevel, SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/server";
import type { ClientInfo } from "../../durable-objects/tenant/contract";

/**
 * What the route needs to know about a JSON-RPC body before the SDK serves
 * it: which methods it carries (for logs and metrics), whether it is a tool
 * call (refused while the quota is spent), and whether it opens a legacy
 * session.
 */
export interface MessageSummary {
  /** Request and notification methods, in order, comma-separated. */
  methods: string;
  /** The JSON-RPC id of a single request, for error answers made before the SDK sees it. */
  id: string | number | null;
  /** The tool named by a single `tools/call`. */
  tool: string | null;
  /** The prompt named by a single `prompts/get`. */
  prompt: string | null;
  /** A well-formed 2025-era `initialize`: the protocol version it will get and the client it names. */
  initialize: { protocolVersion: string; clientInfo: ClientInfo | null } | null;
  /** `logging/setLevel`'s level, to remember on the session; null unless it is one the protocol defines. */
  logLevel: LoggingLevel | null;
  /** `_meta` client name of a 2026-era request. */
  clientName: string | null;
  /** The version beside `clientName` in the request's `_meta` clientInfo, when given. */
  clientVersion: string | null;
  /** Methods of the requests inside a JSON-RPC batch (array body) other than `ping`. */
  batchedRequests: string[];
}

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject =>
  value !== null && typeof value === "object" && !Array.isArray(value);

/** The version the SDK's `initialize` handler will answer with (it mirrors the request when supported). */
function negotiatedVersion(requested: string): string {
  return SUPPORTED_PROTOCOL_VERSIONS.includes(requested) ? requested : (SUPPORTED_PROTOCOL_VERSIONS[0] as string);
}

const LOGGING_LEVELS: readonly LoggingLevel[] = [
  "debug",
  "info",
  "notice",
  "warning",
  "error",
  "critical",
  "alert",
  "emergency",
];

function isLoggingLevel(value: unknown): value is LoggingLevel {
  return LOGGING_LEVELS.includes(value as LoggingLevel);
}

export function summarize(body: unknown): MessageSummary {
  const messages = (Array.isArray(body) ? body : [body]).filter(isObject);
  const single = !Array.isArray(body) && isObject(body) ? body : null;
  const params = isObject(single?.params) ? single.params : {};
  const method = typeof single?.method === "string" ? single.method : null;
  const meta = isObject(params._meta) ? params._meta : {};
  const metaClient = meta["io.modelcontextprotocol/clientInfo"];
  const tool = method === "tools/call" && typeof params.name === "string" ? params.name : null;
  const prompt = method === "prompts/get" && typeof params.name === "string" ? params.name : null;
  const id = single?.id;
  let initialize: MessageSummary["initialize"] = null;
  if (single && isInitializeRequest(single)) {
    const clientInfo = isObject(params.clientInfo) ? params.clientInfo : null;
    initialize = {
      protocolVersion: negotiatedVersion(String(params.protocolVersion)),
      clientInfo: clientInfo
        ? { name: String(clientInfo.name ?? "").slice(0, 100), version: String(clientInfo.version ?? "").slice(0, 50) }
        : null,
    };
  }
  return {
    methods: messages
      .map((message) => message.method)
      .filter((value): value is string => typeof value === "string")
      .join(","),
    id: typeof id === "string" || typeof id === "number" ? id : null,
    tool,
    prompt,
    initialize,
    // The SDK answers an unknown level with an error inside a 200, so the level is checked here: only a valid one is stored.
    logLevel: method === "logging/setLevel" && isLoggingLevel(params.level) ? params.level : null,
    clientName: isObject(metaClient) && typeof metaClient.name === "string" ? metaClient.name.slice(0, 100) : null,
    clientVersion:
      isObject(metaClient) && typeof metaClient.version === "string" ? metaClient.version.slice(0, 50) : null,
    batchedRequests: Array.isArray(body)
      ? messages
          .filter((message) => message.id !== undefined && message.method !== "ping")
          .map((message) => String(message.method))
      : [],
  };
}
