/** @jsxImportSource hono/jsx */

import { DISPLAY_NAME_MAX } from "../../../shared/accounts/accounts";
import { MIN_PASSWORD_LENGTH } from "../../../shared/accounts/passwords";
import type { AuditRecord } from "../../../shared/audit";
import { Field, FormError, Notice, PostForm } from "../ui/forms";
import { Layout, type Viewer } from "../ui/layout";

const ACTIONS: Record<string, string> = {
  "account.sign_in": "Signed in",
  "account.email_verify": "Confirmed email and signed in",
  "account.password_change": "Changed password",
  "account.password_reset": "Reset password",
  "account.sign_out_everywhere": "Signed out everywhere",
  "account.email_change": "Changed email",
  "account.name_change": "Changed name",
  "api_key.create": "Created a key",
  "api_key.revoke": "Revoked a key",
  "oauth_grant.create": "Connected an app",
  "oauth_grant.revoke": "Disconnected an app",
  "tenant.create": "Created the account",
  "memory.update": "Edited a memory",
  "memory.forget": "Forgot memories",
  "memory.restore": "Restored memories",
  "memory.delete": "Deleted memories forever",
  "memory.move": "Moved memories to a project",
  "issue.resolve": "Resolved an issue",
  "issue.reopen": "Reopened an issue",
  "invitation.create": "Invited someone",
  "invitation.resend": "Sent an invitation again",
  "invitation.revoke": "Withdrew an invitation",
  "member.join": "Someone joined the team",
  "member.role_change": "Changed a member's role",
  "member.ownership_offer": "Offered ownership",
  "member.ownership_transfer": "Ownership passed on",
  "member.remove": "Removed a member",
  "member.leave": "Someone left the team",
};

export function SettingsPage(props: {
  viewer: Viewer;
  error?: { form: "password" | "email" | "name"; message: string } | null;
  notice?: string | null;
  /** The name the person chose ("" for none: they are shown by their email's local part). */
  name: string;
  audit: AuditRecord[];
}) {
  const { viewer, error } = props;
  return (
    <Layout title="Settings" viewer={viewer} section="settings">
      <h1>Settings</h1>
      <Notice message={props.notice} />
      <section class="card" aria-labelledby="name-heading">
        <h2 id="name-heading">Your name</h2>
        <p>Your team sees it on the team page and on the memories you and your agents write.</p>
        {error?.form === "name" ? <FormError message={error.message} /> : null}
        <PostForm action="/app/settings/name" csrf={viewer.csrf}>
          <Field
            name="name"
            label="Name"
            value={props.name}
            autocomplete="name"
            required={false}
            maxlength={DISPLAY_NAME_MAX}
            hint={`Leave it empty to be shown as “${viewer.email.split("@")[0]}”.`}
            invalid={error?.form === "name"}
          />
          <div class="actions">
            <button type="submit">Save name</button>
          </div>
        </PostForm>
      </section>
      <section class="card" aria-labelledby="email-heading">
        <h2 id="email-heading">Email</h2>
        <p>
          Your address is <strong>{viewer.email}</strong>
          {viewer.verified ? " (confirmed)." : " (not confirmed yet)."} A new address takes effect when you open the
          link we send to it.
        </p>
        {error?.form === "email" ? <FormError message={error.message} /> : null}
        <PostForm action="/app/settings/email" csrf={viewer.csrf}>
          <Field name="email" label="New email" type="email" autocomplete="email" invalid={error?.form === "email"} />
          <Field
            name="current_password"
            id="field-email-current-password"
            label="Current password"
            type="password"
            autocomplete="current-password"
          />
          <div class="actions">
            <button type="submit">Change email</button>
          </div>
        </PostForm>
      </section>
      <section class="card" aria-labelledby="password-heading">
        <h2 id="password-heading">Password</h2>
        <p>Changing your password signs you out everywhere else.</p>
        {error?.form === "password" ? <FormError message={error.message} /> : null}
        <PostForm action="/app/settings/password" csrf={viewer.csrf}>
          <Field
            name="current_password"
            label="Current password"
            type="password"
            autocomplete="current-password"
            invalid={error?.form === "password"}
          />
          <Field
            name="new_password"
            label="New password"
            type="password"
            autocomplete="new-password"
            minlength={MIN_PASSWORD_LENGTH}
            hint={`At least ${MIN_PASSWORD_LENGTH} characters.`}
            invalid={error?.form === "password"}
          />
          <div class="actions">
            <button type="submit">Change password</button>
          </div>
        </PostForm>
      </section>
      <section class="card" aria-labelledby="sessions-heading">
        <h2 id="sessions-heading">Sessions</h2>
        <p>Sign out of the console in every browser, this one included. Keys and connected apps keep working.</p>
        <PostForm action="/app/settings/sign-out-everywhere" csrf={viewer.csrf}>
          <button type="submit" class="danger">
            Sign out everywhere
          </button>
        </PostForm>
      </section>
      <section aria-labelledby="audit-heading">
        <h2 id="audit-heading">Recent activity</h2>
        {props.audit.length === 0 ? (
          <p class="muted">Nothing yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">When (UTC)</th>
                <th scope="col">What</th>
                <th scope="col">From</th>
              </tr>
            </thead>
            <tbody>
              {props.audit.map((entry) => (
                <tr>
                  <td>{entry.createdAt.replace("T", " ").slice(0, 19)}</td>
                  <td>{ACTIONS[entry.action] ?? entry.action}</td>
                  <td>{entry.ip ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </Layout>
  );
}
