/** @jsxImportSource hono/jsx */
import type { Child } from "hono/jsx";
import { LogoMark } from "./logo";

export const STYLESHEET_PATH = "/assets/console.css";
export const SCRIPT_PATH = "/assets/console.js";

export type Section = "connect" | "keys" | "apps" | "usage" | "billing" | "data" | "settings";

export interface Viewer {
  email: string;
  verified: boolean;
  csrf: string;
}

const NAV: { section: Section; href: string; label: string }[] = [
  { section: "connect", href: "/app/connect", label: "Connect" },
  { section: "keys", href: "/app/keys", label: "Keys" },
  { section: "apps", href: "/app/apps", label: "Apps" },
  { section: "usage", href: "/app/usage", label: "Usage" },
  { section: "billing", href: "/app/billing", label: "Billing" },
  { section: "data", href: "/app/data", label: "Data" },
  { section: "settings", href: "/app/settings", label: "Settings" },
];

/**
 * Every page's frame: skip link, wordmark, navigation for a signed-in
 * person (with Sign out as a form, since it changes state), the
 * verification banner, and one `<main>`. `narrow` suits single forms.
 */
export function Layout(props: {
  title: string;
  viewer?: Viewer | null;
  section?: Section;
  narrow?: boolean;
  children: Child;
}) {
  const { viewer } = props;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Muninn`}</title>
        <link rel="stylesheet" href={STYLESHEET_PATH} />
        <script src={SCRIPT_PATH} defer />
      </head>
      <body>
        <a class="skip" href="#content">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href={viewer ? "/app/connect" : "/"}>
            <LogoMark />
            Muninn
          </a>
          {viewer ? (
            <>
              <nav class="main" aria-label="Console">
                {NAV.map((item) => (
                  <a href={item.href} aria-current={props.section === item.section ? "page" : undefined}>
                    {item.label}
                  </a>
                ))}
              </nav>
              <form method="post" action="/signout">
                <input type="hidden" name="csrf" value={viewer.csrf} />
                <button class="link" type="submit">
                  Sign out
                </button>
              </form>
            </>
          ) : (
            <nav class="main" aria-label="Account">
              <a href="/signin">Sign in</a>
              <a href="/signup">Sign up</a>
            </nav>
          )}
        </header>
        <main id="content" class={props.narrow ? "narrow" : undefined}>
          {viewer && !viewer.verified ? <VerifyBanner csrf={viewer.csrf} email={viewer.email} /> : null}
          {props.children}
        </main>
        <footer>Muninn — memory for your AI agents</footer>
      </body>
    </html>
  );
}

function VerifyBanner(props: { csrf: string; email: string }) {
  return (
    <div class="banner" role="status">
      Confirm your email address: we sent a link to <strong>{props.email}</strong>. Until then you cannot invite members
      or change billing.
      <form method="post" action="/verify/resend">
        <input type="hidden" name="csrf" value={props.csrf} />
        <button type="submit" class="secondary">
          Send the link again
        </button>
      </form>
    </div>
  );
}
