/** @jsxImportSource hono/jsx */
import { MIN_PASSWORD_LENGTH } from "../../../shared/accounts/passwords";
import { Field, FormError, Notice, PostForm } from "../ui/forms";
import { Layout } from "../ui/layout";

const PASSWORD_HINT = `At least ${MIN_PASSWORD_LENGTH} characters. A few unrelated words make a good one.`;

/** Carries where to continue after the form (an OAuth authorization in progress), when there is somewhere. */
function NextField(props: { next?: string | null }) {
  return props.next ? <input type="hidden" name="next" value={props.next} /> : null;
}

const withNext = (path: string, next?: string | null) => (next ? `${path}?next=${encodeURIComponent(next)}` : path);

export function Landing() {
  return (
    <Layout title="Memory for your AI agents">
      <section class="hero">
        <h1>Memory for your AI agents</h1>
        <p>
          Muninn remembers what your agents learn — decisions, preferences, project facts — and gives it back when they
          need it, across Claude, Cursor, VS Code and any MCP client.
        </p>
        <div class="actions">
          <a class="button" href="/signup">
            Sign up
          </a>
          <a class="button secondary" href="/signin">
            Sign in
          </a>
        </div>
      </section>
      <ul class="features">
        <li>
          <strong>One memory, every client.</strong> Connect with a key or sign in through OAuth.
        </li>
        <li>
          <strong>Recall that fits.</strong> Ranked, deduplicated memories sized for a model's context.
        </li>
        <li>
          <strong>Yours to take.</strong> Export everything at any time; delete it for good.
        </li>
      </ul>
    </Layout>
  );
}

export function SignupPage(props: {
  csrf: string;
  error?: string | null;
  email?: string;
  teamName?: string;
  next?: string | null;
  invalid?: "email" | "password" | "team_name";
}) {
  return (
    <Layout title="Create your account" narrow>
      <h1>Create your account</h1>
      <FormError message={props.error} />
      <PostForm action="/signup" csrf={props.csrf}>
        <NextField next={props.next} />
        <Field
          name="email"
          label="Email"
          type="email"
          autocomplete="email"
          value={props.email}
          autofocus
          maxlength={254}
          invalid={props.invalid === "email"}
        />
        <Field
          name="password"
          label="Password"
          type="password"
          autocomplete="new-password"
          hint={PASSWORD_HINT}
          minlength={MIN_PASSWORD_LENGTH}
          maxlength={256}
          invalid={props.invalid === "password"}
        />
        <Field
          name="team_name"
          label="Team name"
          autocomplete="organization"
          value={props.teamName}
          maxlength={200}
          hint="Your name works if it is just you."
          invalid={props.invalid === "team_name"}
        />
        <div class="actions">
          <button type="submit">Create account</button>
        </div>
      </PostForm>
      <p class="muted">
        Already have an account? <a href={withNext("/signin", props.next)}>Sign in</a>
      </p>
    </Layout>
  );
}

/** After signup and after "forgot password": the same answer whether or not the address has an account. */
export function CheckInbox(props: { email: string; what: "signup" | "reset" }) {
  return (
    <Layout title="Check your email" narrow>
      <h1>Check your email</h1>
      <p role="status">
        {props.what === "signup"
          ? "We sent a message to "
          : "If an account uses this address, we sent a message with a reset link to "}
        <strong>{props.email}</strong>.
      </p>
      <p>
        {props.what === "signup"
          ? "Open the link in it to confirm your address and sign in. It expires in 24 hours."
          : "The link expires in 30 minutes and works once."}
      </p>
      <p class="muted">Nothing arrived after a few minutes? Check your spam folder, or try again.</p>
    </Layout>
  );
}

export function SigninPage(props: {
  csrf: string;
  error?: string | null;
  notice?: string | null;
  email?: string;
  next?: string | null;
}) {
  return (
    <Layout title="Sign in" narrow>
      <h1>Sign in</h1>
      <Notice message={props.notice} />
      <FormError message={props.error} />
      <PostForm action="/signin" csrf={props.csrf}>
        <NextField next={props.next} />
        <Field
          name="email"
          label="Email"
          type="email"
          autocomplete="email"
          value={props.email}
          autofocus
          maxlength={254}
          invalid={!!props.error}
        />
        <Field
          name="password"
          label="Password"
          type="password"
          autocomplete="current-password"
          maxlength={1024}
          invalid={!!props.error}
        />
        <div class="actions">
          <button type="submit">Sign in</button>
          <a href="/forgot">Forgot password?</a>
        </div>
      </PostForm>
      <p class="muted">
        No account yet? <a href={withNext("/signup", props.next)}>Create an account</a>
      </p>
    </Layout>
  );
}

export function ForgotPage(props: { csrf: string; error?: string | null; email?: string }) {
  return (
    <Layout title="Reset your password" narrow>
      <h1>Reset your password</h1>
      <p>Enter the email of your account and we will send you a link to choose a new password.</p>
      <FormError message={props.error} />
      <PostForm action="/forgot" csrf={props.csrf}>
        <Field name="email" label="Email" type="email" autocomplete="email" value={props.email} autofocus />
        <div class="actions">
          <button type="submit">Send reset link</button>
        </div>
      </PostForm>
    </Layout>
  );
}

export function ResetPage(props: { csrf: string; token: string; error?: string | null }) {
  return (
    <Layout title="Choose a new password" narrow>
      <h1>Choose a new password</h1>
      <FormError message={props.error} />
      <PostForm action="/reset" csrf={props.csrf}>
        <input type="hidden" name="token" value={props.token} />
        <Field
          name="password"
          label="New password"
          type="password"
          autocomplete="new-password"
          hint={PASSWORD_HINT}
          minlength={MIN_PASSWORD_LENGTH}
          maxlength={256}
          autofocus
          invalid={!!props.error}
        />
        <div class="actions">
          <button type="submit">Set new password</button>
        </div>
      </PostForm>
    </Layout>
  );
}

/** A page that only says something (an expired link, a refused form). */
export function MessagePage(props: {
  title: string;
  message: string;
  alert?: boolean;
  link?: { href: string; label: string };
}) {
  return (
    <Layout title={props.title} narrow>
      <h1>{props.title}</h1>
      {props.alert ? <FormError message={props.message} /> : <p>{props.message}</p>}
      {props.link ? (
        <p>
          <a href={props.link.href}>{props.link.label}</a>
        </p>
      ) : null}
    </Layout>
  );
}
