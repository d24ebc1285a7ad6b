/**
 * The console's only script, served from `/assets/console.js` (CSP
 * `script-src 'self'`): every page works without it. It adds copy buttons
 * (rendered `hidden` so no dead button shows without JavaScript); on
 * `/app/connect`, polls the connection status so "Waiting…" turns into
 * "Connected" without a reload; and on `/app/memories`, polls for memories
 * saved since the page was drawn and puts them at the top of the list
 * (built with `textContent`: the answer is JSON, never HTML). Polling, not a WebSocket or SSE: the answer
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
  const live = document.querySelector("[data-live]");
  const list = document.getElementById("memory-list");
  if (live && list) {
    const url = new URL(live.dataset.live, location.href);
    const row = (memory) => {
      const item = document.createElement("li");
      item.dataset.id = memory.id;
      item.className = "fresh";
      const body = document.createElement("div");
      const link = document.createElement("a");
      link.className = "memory-title";
      link.href = "/app/memories/" + encodeURIComponent(memory.id);
      link.textContent = memory.title;
      const excerpt = document.createElement("p");
      excerpt.className = "excerpt";
      excerpt.textContent = memory.excerpt;
      const facts = document.createElement("p");
      facts.className = "muted";
      facts.textContent = memory.kind + " · " + memory.project + " · just now · " + memory.by;
      body.append(link, excerpt, facts);
      item.append(body);
      return item;
    };
    const poll = async () => {
      try {
        const response = await fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } });
        if (response.ok) {
          const body = await response.json();
          for (const memory of body.memories) {
            list.querySelector('[data-id="' + CSS.escape(memory.id) + '"]')?.remove();
            list.prepend(row(memory));
            url.searchParams.set("since", String(Date.parse(memory.updatedAt)));
          }
          if (body.memories.length > 0) {
            live.textContent = body.memories.length === 1 ? "1 new memory just arrived." : body.memories.length + " new memories just arrived.";
          }
        }
      } catch {}
      if (!document.hidden) setTimeout(poll, 4000);
      else document.addEventListener("visibilitychange", () => setTimeout(poll, 0), { once: true });
    };
    setTimeout(poll, 4000);
  }
})();
`;
