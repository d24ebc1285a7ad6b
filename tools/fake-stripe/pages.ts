import { CONSOLE_CSS } from "../../workers/console/ui/styles";

/**
 * The fake's checkout and portal pages, in the console's look (its own
 * stylesheet, inlined: the fake is another origin) so a local walk through
 * Upgrade → Pay → back reads as one product. Every value shown is escaped.
 */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** `1900` cents in `usd` as "$19.00". */
export function money(cents: number, currency: string): string {
  const amount = (cents / 100).toFixed(2);
  return currency.toLowerCase() === "usd" ? `$${amount}` : `${amount} ${currency.toUpperCase()}`;
}

export function fakePage(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)} · Fake Stripe</title>
<style>${CONSOLE_CSS}</style></head><body>
<header class="top"><span class="brand">Fake Stripe</span><span class="muted">local test payments — no money moves</span></header>
<main class="narrow"><h1>${escapeHtml(title)}</h1>${body}</main>
<footer>Muninn's local Stripe stand-in (tools/fake-stripe)</footer></body></html>`;
}
