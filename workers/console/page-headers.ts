/**
 * Headers on every console and sign-in page.
 *
 * - CSP: nothing loads from anywhere but this origin, no inline script or
 *   style (the stylesheet and script are files), forms post only here,
 *   no `<base>` rewriting, and no page may be framed (clickjacking).
 * - `X-Frame-Options: DENY` says the same to browsers that predate
 *   `frame-ancestors`.
 * - `Referrer-Policy: no-referrer`: reset and verification links carry a
 *   token in the URL; no other site may learn it from a Referer header.
 * - `Cache-Control: no-store`: pages show account data and one-time keys;
 *   no shared or back-button cache keeps them.
 */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export const PAGE_HEADERS: Record<string, string> = {
  "Content-Security-Policy": PAGE_CSP,
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "X-Content-Type-Options": "nosniff",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cache-Control": "no-store",
};

/** Set the page headers on `headers`, replacing any a library set (its CSP must not loosen ours). */
export function applyPageHeaders(headers: Headers): void {
  for (const [name, value] of Object.entries(PAGE_HEADERS)) headers.set(name, value);
}
