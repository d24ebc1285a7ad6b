import { randomString, sha256Hex, timingSafeEqual } from "../../shared/crypto/encoding";
import { clearCookie, PRESESSION_COOKIE, readCookie, writeCookie } from "../console/cookies";
import { sign } from "../console/tokens";
import type { AdminMiddleware, AdminPageContext, Operator } from "./context";

/**
 * The operator's session: a signed cookie, separate from tenant sessions
 * (its own name, its own key label, no row in the sessions table), so no
 * tenant session can ever stand for it.
 *
 * - Short: 30 minutes from sign-in, then the token is asked for again. An
 *   operator session can change any tenant; a stolen one must not last.
 * - Stateless: the cookie carries the operator's name, a random nonce and
 *   the expiry, MACed with a key derived from DB_TOKEN_ENCRYPTION_KEY. The
 *   MAC also covers a hash of ADMIN_TOKEN, so rotating the admin token ends
 *   every operator session at once (the way to revoke one early).
 * - `__Host-`, HttpOnly, Secure, SameSite=Lax like the console's cookies.
 */
const ADMIN_COOKIE = "__Host-muninn-admin";
const ADMIN_SESSION_MS = 30 * 60 * 1000;
const SESSION_LABEL = "muninn admin session v1";
const CSRF_LABEL = "muninn admin csrf v1";
/** What the audit log names: letters, digits and a few separators, like the API's `X-Admin-Actor`. */
export const OPERATOR_NAME = /^[A-Za-z0-9@._+-]{1,100}$/;

async function mac(c: AdminPageContext, payload: string): Promise<string> {
  const { config } = c.get("services");
  return sign(config.dbTokenEncryptionKey, SESSION_LABEL, `${payload}\n${await sha256Hex(config.adminToken)}`);
}

async function readOperator(c: AdminPageContext): Promise<Operator | null> {
  const value = readCookie(c, ADMIN_COOKIE);
  if (!value) return null;
  // nonce.expires.mac.name: the name last, since it may itself contain dots.
  const [nonce, expires, sent, ...rest] = value.split(".");
  const name = rest.join(".");
  if (!nonce || !expires || !name || !sent || !/^[A-Za-z0-9]{32}$/.test(nonce) || !OPERATOR_NAME.test(name)) {
    return null;
  }
  const expiresAt = Number(expires);
  if (!Number.isSafeInteger(expiresAt) || expiresAt <= Date.now()) return null;
  if (!(await timingSafeEqual(sent, await mac(c, `${nonce}.${expires}.${name}`)))) return null;
  return { name, nonce, expiresAt };
}

/**
 * Load the operator the cookie names (if its MAC holds and it has not
 * expired) and the CSRF token for this request's forms: bound to the
 * session's nonce when signed in, else to the console's pre-session cookie
 * (the sign-in form). Same signed double-submit scheme as the tenant console.
 */
export function loadOperator(): AdminMiddleware {
  return async (c, next) => {
    const found = await readOperator(c);
    if (!found && readCookie(c, ADMIN_COOKIE)) clearCookie(c, ADMIN_COOKIE);
    c.set("operator", found);
    if (found) c.set("adminActor", `admin:${found.name}`);
    let binding = found ? `a:${found.nonce}` : null;
    if (!binding) {
      let presession = readCookie(c, PRESESSION_COOKIE);
      if (!presession || !/^[A-Za-z0-9]{32}$/.test(presession)) {
        presession = randomString(32);
        writeCookie(c, PRESESSION_COOKIE, presession);
      }
      binding = `p:${presession}`;
    }
    c.set("csrf", await sign(c.get("services").config.dbTokenEncryptionKey, CSRF_LABEL, binding));
    await next();
  };
}

/** Pages behind sign-in: anyone else (a tenant's session or key included) is sent to `/admin/signin`. */
export function requireOperator(): AdminMiddleware {
  return async (c, next) => {
    if (!c.get("operator")) return c.redirect("/admin/signin", 303);
    await next();
  };
}

/** Whether the form's token matches this browser's; false refuses the form. */
export async function adminCsrfValid(c: AdminPageContext, form: FormData): Promise<boolean> {
  const sent = form.get("csrf");
  return typeof sent === "string" && sent !== "" && (await timingSafeEqual(sent, c.get("csrf")));
}

/** A new session (new nonce, so a CSRF token from before sign-in is worthless after). */
export async function startOperatorSession(c: AdminPageContext, name: string): Promise<void> {
  const nonce = randomString(32);
  const expires = String(Date.now() + ADMIN_SESSION_MS);
  const payload = `${nonce}.${expires}.${name}`;
  writeCookie(c, ADMIN_COOKIE, `${nonce}.${expires}.${await mac(c, payload)}.${name}`, ADMIN_SESSION_MS / 1000);
}

export function endOperatorSession(c: AdminPageContext): void {
  clearCookie(c, ADMIN_COOKIE);
}
