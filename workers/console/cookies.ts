import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";

/**
 * The console's cookies. All carry the `__Host-` prefix, which browsers only
 * accept with `Secure`, `Path=/` and no `Domain`: no sibling subdomain can
 * plant or overwrite them. Browsers treat http://localhost and
 * http://127.0.0.1 as secure contexts, so the same cookies work in local
 * development (the local stack serves http on loopback only).
 *
 * `SameSite=Lax` keeps them off cross-site POSTs (a first line against
 * CSRF; the token in every form is the second) while a link from an email
 * or another site still arrives signed in.
 */
export const SESSION_COOKIE = "__Host-muninn-session";
/** Before sign-in: the value the sign-in, signup and reset forms' CSRF tokens are bound to. */
export const PRESESSION_COOKIE = "__Host-muninn-presession";
/** Proof this browser once signed in to an account (see `workers/console/sign-in-limit.ts`). */
export const DEVICE_COOKIE = "__Host-muninn-device";

const BASE = { path: "/", secure: true, httpOnly: true, sameSite: "Lax" } as const;

export function readCookie(c: Context, name: string): string | undefined {
  return getCookie(c, name);
}

export function writeCookie(c: Context, name: string, value: string, maxAgeSeconds?: number): void {
  setCookie(c, name, value, maxAgeSeconds === undefined ? BASE : { ...BASE, maxAge: maxAgeSeconds });
}

export function clearCookie(c: Context, name: string): void {
  deleteCookie(c, name, { path: "/", secure: true });
}
