/** @jsxImportSource hono/jsx */
import { PostForm } from "../ui/forms";
import { Layout, type Viewer } from "../ui/layout";

export interface AppRow {
  grantId: string;
  clientName: string;
  /** "you", or the email of the member who granted it (owners and admins see everyone's). */
  grantedBy: string;
  redirectHost: string | null;
  scopes: string[];
  createdAt: string;
  /** Within about a minute (workers/auth/grant-last-used.ts); null: not used yet. */
  lastUsedAt: string | null;
  expiresAt: string | null;
}

const day = (iso: string | null) => (iso ? iso.replace("T", " ").slice(0, 16) : "—");

export function AppsPage(props: { viewer: Viewer; apps: AppRow[]; everyone: boolean }) {
  // Only when someone else's app is listed: a person alone in their team sees the page as before.
  const byOthers = props.apps.some((app) => app.grantedBy !== "you");
  return (
    <Layout title="Connected apps" viewer={props.viewer} section="apps">
      <h1>Connected apps</h1>
      <p>
        {props.everyone
          ? "Apps the team's members allowed through “Sign in to Muninn” (Claude.ai, ChatGPT, MCP Inspector…) for this team."
          : "Apps you allowed through “Sign in to Muninn” (Claude.ai, ChatGPT, MCP Inspector…) for this team."}{" "}
        Revoking one signs it out at once.
      </p>
      {props.apps.length === 0 ? (
        <p class="muted">No apps connected yet. Connect one from the Connect page.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">App</th>
              {byOthers ? <th scope="col">Granted by</th> : null}
              <th scope="col">Sends access to</th>
              <th scope="col">Scopes</th>
              <th scope="col">Granted (UTC)</th>
              <th scope="col">Last used (UTC)</th>
              <th scope="col">Expires (UTC)</th>
              <th scope="col">
                <span class="muted">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {props.apps.map((app) => (
              <tr>
                <td>{app.clientName}</td>
                {byOthers ? <td>{app.grantedBy}</td> : null}
                <td>{app.redirectHost ?? "—"}</td>
                <td>{app.scopes.join(", ")}</td>
                <td>{day(app.createdAt)}</td>
                <td>{day(app.lastUsedAt)}</td>
                <td>{day(app.expiresAt)}</td>
                <td>
                  <a
                    href={`/app/apps/${encodeURIComponent(app.grantId)}/revoke`}
                    aria-label={`Revoke ${app.clientName}${byOthers ? ` (granted by ${app.grantedBy})` : ""}`}
                  >
                    Revoke
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
}

export function RevokeAppPage(props: { viewer: Viewer; app: AppRow }) {
  return (
    <Layout title="Revoke app" viewer={props.viewer} section="apps" narrow>
      <h1>Revoke {props.app.clientName}?</h1>
      <p>
        {props.app.grantedBy === "you"
          ? "Its access ends now; to use it again you connect it again."
          : `Granted by ${props.app.grantedBy}. Its access ends now; they can connect it again.`}
      </p>
      <PostForm action={`/app/apps/${encodeURIComponent(props.app.grantId)}/revoke`} csrf={props.viewer.csrf}>
        <div class="actions">
          <button type="submit" class="danger">
            Revoke access
          </button>
          <a href="/app/apps">Cancel</a>
        </div>
      </PostForm>
    </Layout>
  );
}
