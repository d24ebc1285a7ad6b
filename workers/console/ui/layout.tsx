/** @jsxImportSource hono/jsx */
import type { Child } from "hono/jsx";
import { LogoMark } from "./logo";

export const STYLESHEET_PATH = "/assets/console.css";
export const SCRIPT_PATH = "/assets/console.js";

export type Section = "connect" | "memories" | "keys" | "apps" | "team" | "usage" | "billing" | "data" | "settings";

export interface Viewer {
  email: string;
  verified: boolean;
  csrf: string;
}

/**
 * Another area's navigation in the same frame (the operator's `/admin`):
 * its own home, links and sign-out form, in place of the tenant's.
 */
export interface Menu {
  label: string;
  home: string;
  items: { href: string; label: string; current?: boolean }[];
  /** Absent before sign-in. */
  signOut?: { action: string; csrf: string };
}

const NAV: { section: Section; href: string; label: string }[] = [
  { section: "connect", href: "/app/connect", label: "Connect" },
  { section: "memories", href: "/app/memories", label: "Memories" },
  { section: "keys", href: "/app/keys", label: "Keys" },
  { section: "apps", href: "/app/apps", label: "Apps" },
  { section: "team", href: "/app/team", label: "Team" },
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
  /** Replaces the tenant navigation (and its verification banner) with another area's. */
  menu?: Menu;
  wide?: boolean;
  children: Child;
}) {
  const { viewer, menu } = props;
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
          <a class="brand" href={menu ? menu.home : viewer ? "/app/connect" : "/"}>
            <LogoMark />
            Muninn
          </a>
          {menu ? (
            <MenuNav menu={menu} />
          ) : viewer ? (
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
        <main id="content" class={props.narrow ? "narrow" : props.wide ? "wide" : undefined}>
          {viewer && !viewer.verified ? <VerifyBanner csrf={viewer.csrf} email={viewer.email} /> : null}
          {props.children}
        </main>
        <footer>Muninn — memory for your AI agents</footer>
      </body>
    </html>
  );
}

function MenuNav(props: { menu: Menu }) {
  const { menu } = props;
  return (
    <>
      {menu.items.length > 0 ? (
        <nav class="main" aria-label={menu.label}>
          {menu.items.map((item) => (
            <a href={item.href} aria-current={item.current ? "page" : undefined}>
              {item.label}
            </a>
          ))}
        </nav>
      ) : null}
      {menu.signOut ? (
        <form method="post" action={menu.signOut.action}>
          <input type="hidden" name="csrf" value={menu.signOut.csrf} />
          <button class="link" type="submit">
            Sign out
          </button>
        </form>
      ) : null}
    </>
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
