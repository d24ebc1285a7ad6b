/** @jsxImportSource hono/jsx */
import type { ConsentDescription } from "@cloudflare/workers-oauth-provider";
import { Field, FormError } from "../console/ui/forms";
import { Layout } from "../console/ui/layout";

/**
 * The OAuth sign-in and consent pages, on the console's components: plain
 * forms that work in any browser and with assistive technology, and every
 * value escaped by JSX (client names, URIs and scopes come from whoever
 * registered the client).
 */
const SCOPE_TEXT: Record<string, string> = {
  "mcp:tools": "Read and write your memories (every Muninn tool)",
  "mcp:read": "Read your memories (read-only tools)",
  "keys:manage": "Create, list and revoke your API keys and connected apps",
  "members:manage": "Invite, remove and change the roles of your team's members",
};

export function SignInPage(props: {
  action: string;
  csrf: string;
  clientName: string;
  /** Where "Create an account" returns to: this authorization request, intact. */
  returnTo: string;
  email?: string;
  error?: string;
}) {
  return (
    <Layout title="Sign in" narrow>
      <h1>Sign in to Muninn</h1>
      <p>
        <strong>{props.clientName}</strong> wants to connect to your Muninn memory. Sign in to continue.
      </p>
      <FormError message={props.error} />
      <form method="post" action={props.action}>
        <input type="hidden" name="step" value="signin" />
        <input type="hidden" name="csrf" value={props.csrf} />
        <Field
          name="email"
          label="Email"
          type="email"
          autocomplete="email"
          value={props.email}
          autofocus
          invalid={!!props.error}
        />
        <Field
          name="password"
          label="Password"
          type="password"
          autocomplete="current-password"
          invalid={!!props.error}
        />
        <div class="actions">
          <button type="submit">Sign in</button>
          <a href="/forgot">Forgot password?</a>
        </div>
      </form>
      <p class="muted">
        No account yet? <a href={`/signup?next=${encodeURIComponent(props.returnTo)}`}>Create an account</a>
      </p>
    </Layout>
  );
}

export function ConsentPage(props: {
  action: string;
  details: ConsentDescription;
  scopes: string[];
  handle: string;
  proof: string;
  email: string;
  /** The teams the person belongs to; with more than one, the page asks which one the app gets. */
  teams: { tenantId: string; orgName: string; role: string }[];
  /** The team chosen by default (the console's current one). */
  currentTeam: string;
}) {
  const { details } = props;
  return (
    <Layout title={`Allow ${details.clientName}?`} narrow>
      <h1>Allow {details.clientName} to use your Muninn memory?</h1>
      {details.clientDomain ? (
        <p>
          Published by <strong>{details.clientDomain}</strong>.
        </p>
      ) : (
        <p class="muted">This app registered itself; its name is not verified.</p>
      )}
      <p>
        Access will be sent to <strong>{details.redirectHost}</strong>.
      </p>
      {details.redirectIsLoopback ? (
        <p class="banner">
          <strong>This sends access to an app on your computer.</strong> Continue only if you just started connecting
          from it.
        </p>
      ) : null}
      <p>It asks to:</p>
      <ul>
        {props.scopes.map((scope) => (
          <li>
            <code>{scope}</code> — {SCOPE_TEXT[scope] ?? scope}
          </li>
        ))}
      </ul>
      <p class="muted">
        Signed in as {props.email}. You can disconnect it at any time under <a href="/app/apps">Apps</a>.
      </p>
      <form method="post" action={props.action}>
        <input type="hidden" name="step" value="consent" />
        <input type="hidden" name="handle" value={props.handle} />
        <input type="hidden" name="proof" value={props.proof} />
        {props.teams.length > 1 ? (
          <fieldset>
            <legend>Which team's memory may it use?</legend>
            {props.teams.map((team) => (
              <label class="choice">
                <input
                  type="radio"
                  name="team"
                  value={team.tenantId}
                  checked={team.tenantId === props.currentTeam}
                  required
                />{" "}
                {team.orgName} <span class="muted">({team.role})</span>
              </label>
            ))}
          </fieldset>
        ) : (
          <input type="hidden" name="team" value={props.teams[0]?.tenantId ?? props.currentTeam} />
        )}
        <div class="actions">
          <button type="submit" name="decision" value="allow">
            Allow
          </button>
          <button class="secondary" type="submit" name="decision" value="deny">
            Deny
          </button>
        </div>
      </form>
    </Layout>
  );
}

export function ErrorPage(props: { title: string; message: string }) {
  return (
    <Layout title={props.title} narrow>
      <h1>{props.title}</h1>
      <FormError message={props.message} />
      <p>Go back to the app you were connecting and start again.</p>
    </Layout>
  );
}
