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
const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const PAGE_HEADERS: Record<string, string> = {
  "Content-Security-Policy": PAGE_CSP,
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "X-Content-Type-Options": "nosniff",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cache-Control": "no-store",
};

/**
 * Set the page headers on `headers`, replacing any a library set (its CSP
 * must not loosen ours). `formTarget` adds one more place a form may lead
 * to: browsers apply `form-action` to the redirects after a submission too,
 * so the OAuth consent form must be allowed to end at the client's
 * redirect URI — that origin (or custom scheme) and nothing else — and the
 * billing page's Upgrade and Manage forms at Stripe's Checkout and portal.
 */
export function applyPageHeaders(headers: Headers, formTarget?: string | readonly string[] | null): void {
  for (const [name, value] of Object.entries(PAGE_HEADERS)) headers.set(name, value);
  const targets = typeof formTarget === "string" ? [formTarget] : (formTarget ?? []);
  const sources = targets.map(cspSource).filter((source): source is string => source !== null);
  if (sources.length > 0)
    headers.set(
      "Content-Security-Policy",
      PAGE_CSP.replace("form-action 'self'", `form-action 'self' ${sources.join(" ")}`),
    );
}

/** A URL as a CSP source: its origin for http(s), its scheme for an app's custom scheme; null if unusable. */
function cspSource(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol === "http:" || parsed.protocol === "https:") return parsed.origin;
  return /^[a-z][a-z0-9+.-]*:$/i.test(parsed.protocol) ? parsed.protocol : null;
}
