import { OAuthAuthorizationServer } from "@cloudflare/workers-oauth-provider";
import type { Config } from "../../shared/config";
import { createLogger } from "../../shared/logging";
import { SCOPES } from "../../shared/tenants/scopes";
import { fenceLibraryFetches } from "./oauth-outbound";

// Before the library can fetch anything: its outbound requests go through the fence (oauth-outbound.ts).
fenceLibraryFetches();

/** What an OAuth grant carries to every request made with its tokens (stored encrypted by the library). */
export interface GrantProps {
  userId: string;
  tenantId: string;
  /** The app's registered name when the grant was made (absent on older grants): shown as who wrote a memory. */
  clientName?: string | null;
}

export const AUTHORIZE_PATH = "/authorize";
export const TOKEN_PATH = "/oauth/token";
export const REGISTER_PATH = "/oauth/register";

/** The one protected resource: the MCP endpoint at the configured public origin. */
export function mcpResource(config: Config): string {
  return `${config.publicUrl}/mcp`;
}

/** RFC 9728 location of the resource's metadata: the well-known prefix inserted before its path. */
export function resourceMetadataUrl(config: Config): string {
  return `${config.publicUrl}/.well-known/oauth-protected-resource/mcp`;
}

const ACCESS_TOKEN_TTL_SECONDS = 60 * 60;
export const REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 60 * 60;

const servers = new Map<string, OAuthAuthorizationServer<Env>>();

/**
 * The OAuth 2.1 authorization server (workers-oauth-provider), built once per
 * isolate and public URL. Its issuer and the resource its tokens are bound
 * to come from configuration, never from a request: a request's Host is the
 * client's to choose, and metadata built from it could point a client at
 * another origin.
 *
 * - Access tokens live an hour; refresh tokens rotate on every use (a
 *   rotated-out one used again revokes the grant: refresh-reuse.ts) and the
 *   grant ends 30 days after sign-in, so a lost laptop's connector stops.
 * - Client ID Metadata Documents are on (Claude.ai and ChatGPT register that
 *   way); dynamic registration stays for clients that do not (Inspector,
 *   Cursor, Claude Code).
 * - Tokens, codes and secrets are stored in `OAUTH_KV` only as hashes, and
 *   the grant's props encrypted with a key the token itself wraps.
 */
export function authorizationServer(config: Config): OAuthAuthorizationServer<Env> {
  let server = servers.get(config.publicUrl);
  if (!server) {
    const logger = createLogger({ component: "oauth" });
    server = new OAuthAuthorizationServer<Env>({
      issuer: config.publicUrl,
      resources: [mcpResource(config)],
      authorizeEndpoint: AUTHORIZE_PATH,
      tokenEndpoint: TOKEN_PATH,
      clientRegistrationEndpoint: REGISTER_PATH,
      scopesSupported: [...SCOPES],
      accessTokenTTL: ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTTL: REFRESH_TOKEN_TTL_SECONDS,
      clientIdMetadataDocumentEnabled: true,
      onError: ({ code, description, status, internal }) => {
        // Token endpoint refusals are the client's concern; log the check that failed, never the request.
        logger.warn("oauth request refused", { code, description, status, reason: internal?.reason });
      },
    });
    servers.set(config.publicUrl, server);
  }
  return server;
}
