import type { MiddlewareHandler } from "hono";
import { clientMetadataProblem } from "../../shared/oauth/client-metadata";
import type { AppEnv } from "../types";

/**
 * Dynamic registration (`POST /oauth/register`) is open to anyone, and what
 * a client registers is shown to people and kept: the rules in
 * shared/oauth/client-metadata.ts apply before the library sees the request.
 * A refusal is RFC 7591's `invalid_client_metadata`, in the library's own
 * error shape, so clients read it like any other registration error. A body
 * that is not a JSON object goes on to the library, which refuses it.
 */
export function registrationLimits(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.req.method !== "POST") return next();
    let metadata: unknown;
    try {
      metadata = await c.req.raw.clone().json();
    } catch {
      return next();
    }
    if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) return next();
    const problem = clientMetadataProblem(metadata as Record<string, unknown>);
    if (!problem) return next();
    c.get("logger").warn("client registration refused", { reason: problem });
    return c.json({ error: "invalid_client_metadata", error_description: problem }, 400, {
      "Cache-Control": "no-store",
    });
  };
}
