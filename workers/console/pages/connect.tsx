/** @jsxImportSource hono/jsx */
import { Copyable, PostForm } from "../ui/forms";
import { Layout, type Viewer } from "../ui/layout";

export const CLIENTS = {
  "claude-code": "Claude Code",
  cursor: "Cursor",
  vscode: "VS Code",
  other: "Any MCP client",
} as const;
export type ClientId = keyof typeof CLIENTS;

/** The setup text for one client, with `key` where it goes (a placeholder until one is made). */
function setupFor(client: ClientId, url: string, key: string): string {
  const headers = { Authorization: `Bearer ${key}` };
  switch (client) {
    case "claude-code":
      return `claude mcp add --transport http muninn ${url} --header "Authorization: Bearer ${key}"`;
    case "cursor":
      return JSON.stringify({ mcpServers: { muninn: { url, headers } } }, null, 2);
    case "vscode":
      return JSON.stringify({ servers: { muninn: { type: "http", url, headers } } }, null, 2);
    case "other":
      return JSON.stringify({ mcpServers: { muninn: { type: "http", url, headers } } }, null, 2);
  }
}

const WHERE: Record<ClientId, string> = {
  "claude-code": "Run this in a terminal:",
  cursor: "Put this in ~/.cursor/mcp.json (or .cursor/mcp.json in a project):",
  vscode: "Put this in .vscode/mcp.json in your workspace:",
  other: "Most MCP clients read this shape:",
};

export function ConnectPage(props: {
  viewer: Viewer;
  mcpUrl: string;
  created?: { client: ClientId; key: string; keyId: string; since: string } | null;
  verifiedNow?: boolean;
}) {
  const { created } = props;
  return (
    <Layout title="Connect a client" viewer={props.viewer} section="connect">
      <h1>Connect a client</h1>
      {props.verifiedNow ? (
        <p class="notice" role="status">
          Your email is confirmed.
        </p>
      ) : null}
      <p>
        Your memory lives at <code>{props.mcpUrl}</code>. Pick your client, make a key for it, and paste the setup.
      </p>
      {created ? (
        <section class="card" aria-labelledby="new-key">
          <h2 id="new-key">Your key for {CLIENTS[created.client]}</h2>
          <p>This key is shown once. {WHERE[created.client]}</p>
          <Copyable
            id="setup-created"
            label={`Setup for ${CLIENTS[created.client]}`}
            text={setupFor(created.client, props.mcpUrl, created.key)}
          />
          <div
            class="status"
            data-watch={`/app/connect/status?key=${encodeURIComponent(created.keyId)}&since=${encodeURIComponent(created.since)}`}
            aria-live="polite"
          >
            <span data-status-text>Waiting for your first connection…</span>
          </div>
          <p class="muted">
            This updates by itself. Without JavaScript,{" "}
            <a
              href={`/app/connect/status?key=${encodeURIComponent(created.keyId)}&since=${encodeURIComponent(created.since)}`}
            >
              check the connection
            </a>
            .
          </p>
        </section>
      ) : null}
      {(Object.keys(CLIENTS) as ClientId[]).map((client) => (
        <section class="card" aria-labelledby={`client-${client}`}>
          <h2 id={`client-${client}`}>{CLIENTS[client]}</h2>
          <p>{WHERE[client]}</p>
          <Copyable
            id={`setup-${client}`}
            label={`Setup for ${CLIENTS[client]}`}
            text={setupFor(client, props.mcpUrl, "YOUR_KEY")}
          />
          <PostForm action="/app/connect/key" csrf={props.viewer.csrf} label={`Create a key for ${CLIENTS[client]}`}>
            <input type="hidden" name="client" value={client} />
            <button type="submit">Create a key for this client</button>
          </PostForm>
        </section>
      ))}
      <section class="card" aria-labelledby="client-hosted">
        <h2 id="client-hosted">Claude.ai and ChatGPT</h2>
        <p>
          These sign in with your Muninn email and password (OAuth); no key is needed. In Claude.ai open Settings →
          Connectors → Add custom connector; in ChatGPT, Settings → Apps → Create. Enter this URL:
        </p>
        <Copyable id="setup-hosted" label="MCP URL for Claude.ai and ChatGPT" text={props.mcpUrl} />
        <p class="muted">
          Apps you connect this way are listed under <a href="/app/apps">Apps</a>.
        </p>
      </section>
    </Layout>
  );
}

/** The no-JavaScript answer to "did it connect?" (the script reads the same facts as JSON). */
export function ConnectStatusPage(props: { viewer: Viewer; text: string | null }) {
  return (
    <Layout title="Connection" viewer={props.viewer} section="connect" narrow>
      <h1>Connection</h1>
      <div class={props.text ? "status connected" : "status"} role="status">
        {props.text ?? "Waiting for your first connection…"}
      </div>
      <p class="actions">
        <a href="/app/connect">Back to Connect</a>
      </p>
    </Layout>
  );
}
