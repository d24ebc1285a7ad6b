import type { ConsentDescription } from "@cloudflare/workers-oauth-provider";

/**
 * The server-rendered sign-in and consent pages. No JavaScript: plain forms
 * that work in any browser and with assistive technology (labels tied to
 * inputs, errors announced with role="alert", focus order = reading order,
 * text contrast above 7:1). Every value that reaches the page is escaped:
 * client names, URIs and scopes come from whoever registered the client.
 */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

const SCOPE_TEXT: Record<string, string> = {
  "mcp:tools": "Read and write your memories (every Muninn tool)",
  "mcp:read": "Read your memories (read-only tools)",
  "keys:manage": "Create, list and revoke your API keys and connected apps",
};

const STYLE = `
  :root { color-scheme: light; }
  body { font: 16px/1.5 system-ui, sans-serif; color: #111; background: #f4f4f5; margin: 0; }
  main { max-width: 26rem; margin: 3rem auto; padding: 2rem; background: #fff; border: 1px solid #d4d4d8; border-radius: 8px; }
  h1 { font-size: 1.4rem; margin: 0 0 1rem; }
  label { display: block; font-weight: 600; margin: 1rem 0 .25rem; }
  input[type=email], input[type=password] { width: 100%; box-sizing: border-box; font: inherit; padding: .5rem; border: 1px solid #52525b; border-radius: 4px; }
  input:focus-visible, button:focus-visible { outline: 3px solid #1d4ed8; outline-offset: 2px; }
  button { font: inherit; font-weight: 600; padding: .6rem 1.2rem; border-radius: 4px; border: 1px solid #1e3a8a; cursor: pointer; }
  .primary { background: #1e3a8a; color: #fff; }
  .secondary { background: #fff; color: #1e3a8a; }
  .actions { display: flex; gap: .75rem; margin-top: 1.5rem; }
  .error { color: #991b1b; background: #fef2f2; border: 1px solid #991b1b; padding: .5rem .75rem; border-radius: 4px; }
  .warning { background: #fffbeb; border: 1px solid #92400e; color: #78350f; padding: .5rem .75rem; border-radius: 4px; }
  ul { padding-left: 1.2rem; }
  .muted { color: #3f3f46; font-size: .9rem; }`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)} · Muninn</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>`;
}

export function signInPage(options: {
  action: string;
  csrf: string;
  clientName: string;
  email?: string;
  error?: string;
}): string {
  const error = options.error ? `<p class="error" role="alert" id="signin-error">${escapeHtml(options.error)}</p>` : "";
  const describedBy = options.error ? ' aria-describedby="signin-error"' : "";
  return page(
    "Sign in",
    `<h1>Sign in to Muninn</h1>
<p><strong>${escapeHtml(options.clientName)}</strong> wants to connect to your Muninn memory. Sign in to continue.</p>
${error}
<form method="post" action="${escapeHtml(options.action)}">
  <input type="hidden" name="step" value="signin">
  <input type="hidden" name="csrf" value="${escapeHtml(options.csrf)}">
  <label for="email">Email</label>
  <input id="email" name="email" type="email" autocomplete="email" required autofocus value="${escapeHtml(options.email ?? "")}"${describedBy}>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required${describedBy}>
  <div class="actions"><button class="primary" type="submit">Sign in</button></div>
</form>
<p class="muted">No account yet? Create one with <code>POST /api/signup</code> (see the README).</p>`,
  );
}

export function consentPage(options: {
  action: string;
  details: ConsentDescription;
  scopes: string[];
  handle: string;
  proof: string;
  email: string;
}): string {
  const { details } = options;
  const name = escapeHtml(details.clientName);
  const origin = details.clientDomain
    ? `<p>Published by <strong>${escapeHtml(details.clientDomain)}</strong>.</p>`
    : `<p class="muted">This app registered itself; its name is not verified.</p>`;
  const loopback = details.redirectIsLoopback
    ? `<p class="warning"><strong>This sends access to an app on your computer.</strong> Continue only if you just started connecting from it.</p>`
    : "";
  const scopes = options.scopes
    .map((scope) => `<li><code>${escapeHtml(scope)}</code> — ${escapeHtml(SCOPE_TEXT[scope] ?? scope)}</li>`)
    .join("\n");
  return page(
    `Allow ${details.clientName}?`,
    `<h1>Allow ${name} to use your Muninn memory?</h1>
${origin}
<p>Access will be sent to <strong>${escapeHtml(details.redirectHost)}</strong>.</p>
${loopback}
<p>It asks to:</p>
<ul>
${scopes}
</ul>
<p class="muted">Signed in as ${escapeHtml(options.email)}. You can revoke this later (<code>DELETE /api/oauth/grants/…</code>).</p>
<form method="post" action="${escapeHtml(options.action)}">
  <input type="hidden" name="step" value="consent">
  <input type="hidden" name="handle" value="${escapeHtml(options.handle)}">
  <input type="hidden" name="proof" value="${escapeHtml(options.proof)}">
  <div class="actions">
    <button class="primary" type="submit" name="decision" value="allow">Allow</button>
    <button class="secondary" type="submit" name="decision" value="deny">Deny</button>
  </div>
</form>`,
  );
}

export function errorPage(title: string, message: string): string {
  return page(
    title,
    `<h1>${escapeHtml(title)}</h1>
<p class="error" role="alert">${escapeHtml(message)}</p>
<p>Go back to the app you were connecting and start again.</p>`,
  );
}
