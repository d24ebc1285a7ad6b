/** @jsxImportSource hono/jsx */
import { Field, FormError, PostForm } from "../../console/ui/forms";
import { Layout } from "../../console/ui/layout";

/**
 * The operator's sign-in. The token goes in a password field of a POST
 * form, so it is never in a URL, a history entry or a page; `autocomplete`
 * off keeps browsers from offering to store it in a shared profile.
 */
export function AdminSigninPage(props: { csrf: string; name?: string; error?: string | null }) {
  return (
    <Layout title="Operator sign-in" narrow menu={{ label: "Admin", home: "/admin/signin", items: [] }}>
      <h1>Operator sign-in</h1>
      <p>
        For the people who run this service. Tenants sign in at <a href="/signin">/signin</a>.
      </p>
      <FormError message={props.error} />
      <PostForm action="/admin/signin" csrf={props.csrf}>
        <Field
          name="name"
          label="Your name"
          hint="Written in the audit log for every change you make (letters, digits, @ . _ + -)."
          value={props.name}
          autocomplete="username"
          maxlength={100}
          invalid={Boolean(props.error)}
        />
        <Field
          name="token"
          label="Admin token"
          type="password"
          autocomplete="off"
          maxlength={1024}
          invalid={Boolean(props.error)}
        />
        <div class="actions">
          <button type="submit">Sign in</button>
        </div>
      </PostForm>
      <p class="muted">The session lasts 30 minutes.</p>
    </Layout>
  );
}
