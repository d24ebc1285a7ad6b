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
 *
 * On `/app/data`, the import form (`form[data-upload]`) is sent with
 * XMLHttpRequest, the one browser API with upload progress events: a
 * `<progress>` and a status line ("Uploading… 42%", then "Importing…"),
 * then the page the server answers (the same page the plain post shows:
 * result or error) replaces the `<main>` of this one. The body is the
 * form's own FormData, so its CSRF token is posted as without the script;
 * the answer is parsed as an inert document (its scripts never run) and
 * only its `<main>` is kept.
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
  const enhanceUpload = () => {
    const form = document.querySelector("form[data-upload]");
    const box = form && document.getElementById(form.dataset.upload);
    if (!box) return;
    const bar = box.querySelector("progress");
    const text = box.querySelector("[role=status]");
    const button = form.querySelector("button[type=submit]");
    const failed = (message) => {
      box.hidden = true;
      button.disabled = false;
      let alert = form.querySelector("[data-upload-error]");
      if (!alert) {
        alert = document.createElement("p");
        alert.className = "alert";
        alert.setAttribute("role", "alert");
        alert.dataset.uploadError = "";
        form.prepend(alert);
      }
      alert.textContent = message;
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.responseType = "document";
      request.upload.addEventListener("progress", (progress) => {
        if (!progress.lengthComputable || progress.total === 0) return;
        const percent = Math.floor((progress.loaded * 100) / progress.total);
        bar.value = percent;
        text.textContent = "Uploading… " + percent + "%";
      });
      request.upload.addEventListener("load", () => {
        bar.value = bar.max;
        text.textContent = "Importing…";
      });
      request.addEventListener("load", () => {
        const target = new URL(request.responseURL || form.action, location.href);
        if (target.pathname !== new URL(form.action, location.href).pathname) {
          location.assign(target.href);
          return;
        }
        const main = request.response && request.response.querySelector("main#content");
        const here = document.getElementById("content");
        if (!main || !here) {
          failed("The import did not finish (the server answered " + request.status + "). Try again.");
          return;
        }
        here.replaceChildren(...main.childNodes);
        document.title = request.response.title;
        const focus = here.querySelector("[role=alert]") || here.querySelector("h2") || here.querySelector("h1");
        if (focus) {
          focus.tabIndex = -1;
          focus.focus();
        }
        enhanceUpload();
      });
      const lost = () => failed("The upload did not reach the server. Check the connection and try again.");
      request.addEventListener("error", lost);
      request.addEventListener("abort", lost);
      form.querySelector("[data-upload-error]")?.remove();
      button.disabled = true;
      bar.value = 0;
      text.textContent = "Uploading… 0%";
      box.hidden = false;
      request.send(new FormData(form));
    });
  };
  enhanceUpload();
})();
`;
