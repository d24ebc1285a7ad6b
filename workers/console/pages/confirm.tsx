/** @jsxImportSource hono/jsx */
import { PostForm } from "../ui/forms";
import { Layout } from "../ui/layout";

/** What a verification link opens: one button that uses the link (see `routes/recovery.tsx` on why not the GET). */
export function ConfirmEmailPage(props: { csrf: string; token: string; email: string; action?: string }) {
  return (
    <Layout title="Confirm your email" narrow>
      <h1>Confirm your email</h1>
      <p>
        Confirm that <strong>{props.email}</strong> is your address. You will be signed in.
      </p>
      <PostForm action={props.action ?? "/verify"} csrf={props.csrf}>
        <input type="hidden" name="token" value={props.token} />
        <div class="actions">
          <button type="submit" autofocus>
            Confirm email
          </button>
        </div>
      </PostForm>
    </Layout>
  );
}
