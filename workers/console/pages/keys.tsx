/** @jsxImportSource hono/jsx */
import type { ApiKeyRecord } from "../../../shared/tenants/api-keys";
import { SCOPES } from "../../../shared/tenants/scopes";
import { Copyable, Field, FormError, PostForm } from "../ui/forms";
import { Layout, type Viewer } from "../ui/layout";

const day = (iso: string | null) => (iso ? iso.slice(0, 10) : "—");

const SCOPE_TEXT: Record<string, string> = {
  "mcp:tools": "Read and write memories (every tool)",
  "mcp:read": "Read memories only",
  "keys:manage": "Manage keys and connected apps",
  "members:manage": "Manage team members and invitations",
};

export function KeysPage(props: {
  viewer: Viewer;
  keys: ApiKeyRecord[];
  created?: { name: string; key: string } | null;
  error?: string | null;
}) {
  const { viewer } = props;
  return (
    <Layout title="API keys" viewer={viewer} section="keys">
      <h1>API keys</h1>
      {props.created ? (
        <section class="card" aria-labelledby="created-heading">
          <h2 id="created-heading">Key “{props.created.name}” created</h2>
          <p>Copy it now: it is shown once.</p>
          <Copyable id="created-key" label="New API key" text={props.created.key} />
        </section>
      ) : null}
      {props.keys.length === 0 ? (
        <p>No keys yet.</p>
      ) : (
        <table>
          <caption class="muted">Keys that work now (expired ones too, so you can see why they stopped)</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Prefix</th>
              <th scope="col">Scopes</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span class="muted">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {props.keys.map((key) => (
              <tr>
                <td>{key.name}</td>
                <td>
                  <code>{key.prefix}…</code>
                </td>
                <td>{key.scopes.join(", ")}</td>
                <td>{day(key.createdAt)}</td>
                <td>{day(key.lastUsedAt)}</td>
                <td>{day(key.expiresAt)}</td>
                <td>
                  <a href={`/app/keys/${encodeURIComponent(key.id)}/revoke`} aria-label={`Revoke ${key.name}`}>
                    Revoke
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <section class="card" aria-labelledby="create-heading">
        <h2 id="create-heading">Create key</h2>
        <FormError message={props.error} />
        <PostForm action="/app/keys" csrf={viewer.csrf}>
          <Field
            name="name"
            label="Name"
            maxlength={100}
            hint="Where it will be used, e.g. “laptop Cursor”."
            invalid={!!props.error}
          />
          <fieldset>
            <legend>Scopes</legend>
            {SCOPES.map((scope) => (
              <label class="check">
                <input type="checkbox" name="scopes" value={scope} checked={scope === "mcp:tools"} />
                <span>
                  <code>{scope}</code> — {SCOPE_TEXT[scope]}
                </span>
              </label>
            ))}
          </fieldset>
          <Field
            name="expires"
            label="Expires (optional)"
            type="date"
            required={false}
            hint="Leave empty for a key that does not expire."
          />
          <div class="actions">
            <button type="submit">Create key</button>
          </div>
        </PostForm>
      </section>
    </Layout>
  );
}

export function RevokeKeyPage(props: { viewer: Viewer; key_: ApiKeyRecord }) {
  return (
    <Layout title="Revoke key" viewer={props.viewer} section="keys" narrow>
      <h1>Revoke “{props.key_.name}”?</h1>
      <p>
        Clients using <code>{props.key_.prefix}…</code> stop working within a minute. This cannot be undone.
      </p>
      <PostForm action={`/app/keys/${encodeURIComponent(props.key_.id)}/revoke`} csrf={props.viewer.csrf}>
        <div class="actions">
          <button type="submit" class="danger">
            Revoke key
          </button>
          <a href="/app/keys">Cancel</a>
        </div>
      </PostForm>
    </Layout>
  );
}
