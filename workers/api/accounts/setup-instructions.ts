import type { Config } from "../../../shared/config";
import { mcpResource } from "../../auth/oauth-server";

/**
 * Ready-to-paste setup for the clients people use, shown once beside a new
 * key: Claude Code and Cursor take the key as a header; hosted clients
 * (Claude.ai connectors, ChatGPT apps) take only the URL and sign in through
 * OAuth, so they never see the key.
 */
export function setupInstructions(config: Config, key: string) {
  const url = mcpResource(config);
  const headers = { Authorization: `Bearer ${key}` };
  return {
    mcp_url: url,
    claude_code: `claude mcp add --transport http muninn ${url} --header "Authorization: Bearer ${key}"`,
    cursor: { file: "~/.cursor/mcp.json", json: { mcpServers: { muninn: { url, headers } } } },
    mcp_json: { mcpServers: { muninn: { type: "http", url, headers } } },
    oauth: {
      url,
      instructions:
        "In Claude.ai (Settings → Connectors → Add custom connector) or ChatGPT (Settings → Apps → Create), " +
        "enter this URL and sign in with your email and password; no key is needed.",
    },
  };
}
