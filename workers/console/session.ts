import { createSession, destroySession, findSignedIn, SESSION_ABSOLUTE_MS } from "../../shared/accounts/sessions";
import { randomString, timingSafeEqual } from "../../shared/crypto/encoding";
import { clientIp } from "../middleware/ip-rate-limit";
import { asApp, type ConsoleContext, type ConsoleMiddleware, type SignedIn } from "./context";
import { clearCookie, PRESESSION_COOKIE, readCookie, SESSION_COOKIE, writeCookie } from "./cookies";
import { cachedSession, forgetSession, rememberSession, sessionKey } from "./session-cache";
import { sign } from "./tokens";

const CSRF_LABEL = "muninn console csrf v1";

/**
 * Load the session the cookie names (if it is live and its account still
 * exists) and the CSRF token for this request's forms.
 *
 * CSRF: each form carries HMAC(server key, what this browser is bound to) —
 * the session id when signed in, else a random pre-session cookie. A page on
 * another site can neither read the cookie nor compute the MAC, so it cannot
 * forge a form; the token changes with every new session. (OWASP's "signed
 * double-submit cookie".)
 */
export function loadSession(): ConsoleMiddleware {
  return async (c, next) => {
    const { config } = c.get("services");
    const id = readCookie(c, SESSION_COOKIE);
    const signedIn = id ? await verifiedSession(c, id) : null;
    if (id && !signedIn) clearCookie(c, SESSION_COOKIE);
    c.set("signedIn", signedIn);
    let binding = signedIn && id ? `s:${id}` : null;
    if (!binding) {
      let presession = readCookie(c, PRESESSION_COOKIE);
      if (!presession || !/^[A-Za-z0-9]{32}$/.test(presession)) {
        presession = randomString(32);
        writeCookie(c, PRESESSION_COOKIE, presession);
      }
      binding = `p:${presession}`;
    }
    c.set("csrf", await sign(config.dbTokenEncryptionKey, CSRF_LABEL, binding));
    await next();
  };
}

/** The session from this isolate's cache (session-cache.ts says why that is safe), else from the database. */
async function verifiedSession(c: ConsoleContext, id: string): Promise<SignedIn | null> {
  const hit = cachedSession(await sessionKey(id));
  if (hit) return hit;
  const found = await findSignedIn(c.get("services").mgmtDb, id);
  if (found) rememberSession(found);
  return found;
}

/** Whether the form's token matches this browser's; false refuses the form. */
export async function csrfValid(c: ConsoleContext, form: FormData): Promise<boolean> {
  const sent = form.get("csrf");
  return typeof sent === "string" && sent !== "" && (await timingSafeEqual(sent, c.get("csrf")));
}

/** Pages behind sign-in: others are sent to `/signin`, and come back here after. */
export function requireSignIn(): ConsoleMiddleware {
  return async (c, next) => {
    if (!c.get("signedIn")) {
      const url = new URL(c.req.url);
      const back = c.req.method === "GET" ? `${url.pathname}${url.search}` : "/app/connect";
      return c.redirect(`/signin?next=${encodeURIComponent(back)}`, 303);
    }
    await next();
  };
}

/**
 * Start a session for `userId`: always a new id (an id the browser already
 * had is never adopted — session fixation), the old session, if any, ended.
 */
export async function startSession(c: ConsoleContext, userId: string): Promise<void> {
  const { mgmtDb, config } = c.get("services");
  const previous = c.get("signedIn");
  if (previous) {
    forgetSession(previous.session.idHash);
    await destroySession(mgmtDb, previous.session.idHash);
  }
  const { id } = await createSession(mgmtDb, userId, clientIp(asApp(c)));
  writeCookie(c, SESSION_COOKIE, id, SESSION_ABSOLUTE_MS / 1000);
  c.set("csrf", await sign(config.dbTokenEncryptionKey, CSRF_LABEL, `s:${id}`));
}

export async function endSession(c: ConsoleContext): Promise<void> {
  const current = c.get("signedIn");
  if (current) {
    forgetSession(current.session.idHash);
    await destroySession(c.get("services").mgmtDb, current.session.idHash);
  }
  clearCookie(c, SESSION_COOKIE);
  c.set("signedIn", null);
}

/**
 * A same-origin path to continue to after sign-in, or the connect page.
 * Only paths on this origin (`/…`, not `//host` or `/\\host`): an open
 * redirect would let a phishing link bounce through our sign-in.
 */
export function safeNext(value: unknown, fallback = "/app/connect"): string {
  if (typeof value !== "string" || !value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\")) {
    return fallback;
  }
  if (value.length > 2048 || /\p{Cc}/u.test(value)) return fallback;
  return value;
}
