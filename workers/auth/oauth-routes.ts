import { type Context, Hono } from "hono";
import { ipRateLimit } from "../middleware/ip-rate-limit";
import type { AppEnv } from "../types";
import { authorize } from "./authorize";
import { AUTHORIZE_PATH, authorizationServer, mcpResource, REGISTER_PATH, TOKEN_PATH } from "./oauth-server";
import { refreshTokenReuse } from "./refresh-reuse";
import { registrationLimits } from "./registration-limits";

/**
 * OAuth 2.1 for MCP clients: protected-resource metadata (RFC 9728), the
 * authorization server's metadata (RFC 8414), token, revocation and
 * registration endpoints (served by workers-oauth-provider), and our own
 * sign-in and consent page at `/authorize`.
 */
export const oauthRoutes = new Hono<AppEnv>();

/**
 * RFC 9728 metadata for `/mcp`, at its path-inserted location and, for
 * clients that try the root first, at the bare well-known path. Built from
 * configuration: the resource and issuer are this service's public origin
 * whatever Host the request carried. `scopes_supported` is the minimal set
 * a client asks for first (MCP); the full catalogue is in the issuer's metadata.
 */
function protectedResourceMetadata(c: Context<AppEnv>) {
  const { config } = c.get("services");
  return c.json(
    {
      resource: mcpResource(config),
      authorization_servers: [config.publicUrl],
      scopes_supported: ["mcp:tools"],
      bearer_methods_supported: ["header"],
      resource_name: "Muninn memory",
    },
    200,
    { "Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=300" },
  );
}
oauthRoutes.get("/.well-known/oauth-protected-resource/mcp", protectedResourceMetadata);
oauthRoutes.get("/.well-known/oauth-protected-resource", protectedResourceMetadata);

oauthRoutes.route(AUTHORIZE_PATH, authorize);

/**
 * Token and registration endpoints face anyone: the per-IP limiter goes
 * first, then what the library does not do itself — refresh-token reuse
 * detection and the caps on what a client may register.
 */
oauthRoutes.use(TOKEN_PATH, ipRateLimit("oauth-token"), refreshTokenReuse());
oauthRoutes.use(REGISTER_PATH, ipRateLimit("oauth-register"), registrationLimits());

const served = ["/.well-known/oauth-authorization-server", TOKEN_PATH, REGISTER_PATH];
for (const path of served) {
  oauthRoutes.all(path, (c) =>
    authorizationServer(c.get("services").config).fetch(
      c.req.raw,
      c.env,
      c.executionCtx as unknown as ExecutionContext,
    ),
  );
}
