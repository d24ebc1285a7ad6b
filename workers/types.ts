import type { Logger } from "../shared/logging";
import type { Services } from "./services";

/** Facts about a request that routes learn on the way and the request log and metrics report at the end. */
export interface RequestTelemetry {
  /** MCP tool called, when the request was a `tools/call`. */
  tool?: string;
  /** MCP JSON-RPC method(s), when the request was an MCP message. */
  mcpMethod?: string;
}

/** Hono environment shared by every route and middleware. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    logger: Logger;
    services: Services;
    telemetry: RequestTelemetry;
  };
}
