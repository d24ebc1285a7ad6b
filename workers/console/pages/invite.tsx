/** @jsxImportSource hono/jsx */
import type { InvitationByLink } from "../../../shared/teams/invitations";
import { Field, FormError, PostForm } from "../ui/forms";
import { Layout } from "../ui/layout";

/**
 * What an invitation link opens: the team, who invited and as what, then
 * Join (signed in as the invited address), or a signup form with the
 * address filled in (the link proves it), or the way to sign in.
 */
export function InvitePage(props: {
  csrf: string;
  invitation: InvitationByLink;
  token: string;
  /** Signed in as the invited address: offer Join. */
  signedInAs?: string | null;
  error?: string | null;
  name?: string;
}) {
  const { invitation } = props;
  const ownership = invitation.role === "owner";
  const signInHref = `/signin?next=${encodeURIComponent(`/invite?token=${props.token}`)}`;
  return (
    <Layout title={`Join ${invitation.orgName}`} narrow>
      <h1>{ownership ? `Become the owner of ${invitation.orgName}` : `Join ${invitation.orgName} on Muninn`}</h1>
      <p>
        {ownership
          ? `${invitation.inviterName} offers you ownership of ${invitation.orgName}; they stay as an admin.`
          : `${invitation.inviterName} invited ${invitation.email} to the team ${invitation.orgName} as ${invitation.role === "admin" ? "an" : "a"} ${invitation.role}.`}
      </p>
      <FormError message={props.error} />
      {props.signedInAs ? (
        <PostForm action="/invite/accept" csrf={props.csrf}>
          <input type="hidden" name="token" value={props.token} />
          <p>Signed in as {props.signedInAs}.</p>
          <div class="actions">
            <button type="submit">{ownership ? "Accept ownership" : `Join ${invitation.orgName}`}</button>
          </div>
        </PostForm>
      ) : ownership ? (
        <p>
          <a href={signInHref}>Sign in</a> as {invitation.email} to accept.
        </p>
      ) : (
        <>
          <h2>New to Muninn? Create your account</h2>
          <PostForm action="/invite/signup" csrf={props.csrf} label="Create your account">
            <input type="hidden" name="token" value={props.token} />
            <label for="field-email">Email</label>
            <input
              id="field-email"
              type="email"
              value={invitation.email}
              readonly
              aria-describedby="field-email-hint"
            />
            <span class="hint" id="field-email-hint">
              The address this invitation was sent to; opening the link confirmed it.
            </span>
            <Field
              name="name"
              label="Your name"
              autocomplete="name"
              maxlength={100}
              required={false}
              value={props.name}
              hint="How your team sees you."
            />
            <Field
              name="password"
              label="Password"
              type="password"
              autocomplete="new-password"
              maxlength={1024}
              hint="At least 12 characters; a few unrelated words work well."
              invalid={Boolean(props.error)}
            />
            <div class="actions">
              <button type="submit">Create account and join</button>
            </div>
          </PostForm>
          <p>
            Already have a Muninn account? <a href={signInHref}>Sign in</a> as {invitation.email} to join.
          </p>
        </>
      )}
    </Layout>
  );
}
