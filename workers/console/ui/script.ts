/**
 * The console's only script, served from `/assets/console.js` (CSP
 * `script-src 'self'`): every page works without it. It adds copy buttons
 * (rendered `hidden` so no dead button shows without JavaScript) and, on
 * `/app/connect`, polls the connection status so "Waiting…" turns into
 * "Connected" without a reload. Polling, not a WebSocket or SSE: the answer
 * is one small JSON read every few seconds for as long as one page is open,
 * and a held connection would pin a Worker invocation for nothing.
 */
export const CONSOLE_JS = `(() => {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      if (!source) return;
      try {
        await navigator.clipboard.writeText(source.textContent.trim());
        button.textContent = "Copied";
      } catch {
        button.textContent = "Select and copy";
      }
      setTimeout(() => { button.textContent = "Copy"; }, 2000);
    });
  }
  const status = document.querySelector("[data-watch]");
  if (status) {
    const text = status.querySelector("[data-status-text]");
    const check = async () => {
      try {
        const response = await fetch(status.dataset.watch, { credentials: "same-origin", headers: { accept: "application/json" } });
        if (response.ok) {
          const body = await response.json();
          if (body.connected) {
            status.classList.add("connected");
            text.textContent = body.connected.text;
            return;
          }
        }
      } catch {}
      setTimeout(check, 3000);
    };
    setTimeout(check, 1500);
  }
})();
`;
