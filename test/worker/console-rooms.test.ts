import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { lastDays } from "../../shared/usage-days";
import { Browser, captureEmail, linkIn } from "./console-support";
import { callOk, connect } from "./mcp-support";
import { config, openMgmtDb } from "./support";

const PASSWORD = "a perfectly fine passphrase";
const mail = captureEmail();
const newEmail = (tag: string) => `${tag}-${crypto.randomUUID().slice(0, 8)}@example.test`;

/** Sign up on the web; `verify` opens the confirmation link too. The browser ends signed in either way. */
async function person(tag: string, verify = true) {
  const browser = new Browser();
  const email = newEmail(tag);
  const team = `${tag} team ${crypto.randomUUID().slice(0, 4)}`;
  const { csrf } = await browser.page("/signup");
  expect((await browser.post("/signup", { csrf, email, password: PASSWORD, team_name: team })).status).toBe(200);
  const message = await mail.next(email);
  if (verify) {
    const confirm = await browser.page(linkIn(message, "/verify"));
    const token = /name="token" value="([^"]+)"/.exec(confirm.html)?.[1] ?? "";
    expect((await browser.post("/verify", { csrf: confirm.csrf, token })).status).toBe(303);
  } else {
    const signin = await browser.page("/signin");
    expect((await browser.post("/signin", { csrf: signin.csrf, email, password: PASSWORD })).status).toBe(303);
  }
  const tenantId = String(
    (
      await openMgmtDb().execute(
        {
          sql: "SELECT tenant_id FROM users WHERE email = ?",
          args: [email],
        },
        "read",
      )
    ).rows[0]?.tenant_id,
  );
  return { browser, email, team, tenantId };
}

/** A key of the person's tenant, made on the keys page as a person would. */
async function keyOf(browser: Browser): Promise<string> {
  const { csrf } = await browser.page("/app/keys");
  const made = await browser.post("/app/keys", {
    csrf,
    name: "test",
    scopes: ["mcp:tools", "keys:manage"],
    expires: "",
  });
  const key = /(mk_[A-Za-z0-9_]+)/.exec(await made.text())?.[1];
  if (!key) throw new Error("no key on the keys page");
  return key;
}

describe("the console's rooms", () => {
  it("the usage page counts the requests just made, in the month, the chart and its table", async () => {
    const { browser } = await person("usage");
    const key = await keyOf(browser);
    for (let i = 0; i < 3; i++) {
      const answer = await browser.fetch("/api/me", { headers: { authorization: `Bearer ${key}` } });
      expect(answer.status).toBe(200);
    }
    expect((await browser.fetch("/api/me", { headers: { authorization: "Bearer mk_wrong" } })).status).toBe(401);
    const { response, html } = await browser.page("/app/usage");
    expect(response.status).toBe(200);
    // The charts count at once; the month's figures come from the tenant's object, which admission
    // leases reach within a lease lifetime (1 s, docs/rate-limits.md).
    let month = html;
    for (let tries = 0; !/admitted this month<\/span><span class="figure">3</.test(month) && tries < 10; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      month = (await browser.page("/app/usage")).html;
    }
    expect(month).toMatch(/Requests admitted this month<\/span><span class="figure">3</);
    const today = new Date().toISOString().slice(0, 10);
    expect(html).toContain(`data-day="${today}" data-series="2xx" data-value="3"`);
    expect(html).toMatch(new RegExp(`<th scope="row">${today}</th><td>3</td>`));
    expect(html).toContain('role="img"');
    expect(html).toContain('<title id="chart-status-title">Requests by status</title>');
  });

  it("a month of usage: thirty days drawn and tabled, and a tool name a client chose shown as text", async () => {
    const { browser, tenantId } = await person("month");
    const days = lastDays(Date.now(), 30);
    // Tool names come from clients (`tools/call` names what it likes); the charts must escape them.
    const hostile = '<script>alert("x")</script>&';
    await runInDurableObject(env.TENANT_DO.getByName(tenantId), (_instance, state) => {
      for (const [index, day] of days.entries()) {
        const counts: [string, string, number][] = [
          ["tool", "recall", index + 1],
          ["tool", hostile, 2],
          ["status", "2xx", index + 3],
          ["latency", "25", 4],
        ];
        for (const [metric, key, count] of counts) {
          state.storage.sql.exec(
            "INSERT INTO usage_days (day, metric, key, count) VALUES (?, ?, ?, ?)",
            day,
            metric,
            key,
            count,
          );
        }
      }
      // A day past the 31 the object keeps: dropped by its first report of the day (this page view).
      state.storage.sql.exec(
        "INSERT INTO usage_days (day, metric, key, count) VALUES ('2020-01-01', 'tool', 'recall', 9)",
      );
    });
    const { response, html } = await browser.page("/app/usage");
    expect(response.status).toBe(200);
    const kept = await runInDurableObject(env.TENANT_DO.getByName(tenantId), (_instance, state) =>
      state.storage.sql
        .exec<{ first: string; n: number }>("SELECT MIN(day) AS first, COUNT(DISTINCT day) AS n FROM usage_days")
        .one(),
    );
    expect(kept).toEqual({ first: days[0], n: 30 });
    expect(html).not.toContain("<script>alert");
    const shown = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;";
    expect(html).toContain(`data-series="${shown}"`);
    expect(html).toContain(`<th scope="col">${shown}</th>`);
    for (const [index, day] of days.entries()) {
      expect(html).toContain(`data-day="${day}" data-series="recall" data-value="${index + 1}"`);
      expect(html).toContain(`<title>${day}: ${shown} 2</title>`);
      // Tools are columns in name order, and "<" sorts before "r".
      expect(html).toContain(`<tr><th scope="row">${day}</th><td>2</td><td>${index + 1}</td></tr>`);
      // Four requests in the (10, 25] ms bucket: p50 interpolates to 17.5, written as 18.
      expect(html).toContain(`data-day="${day}" data-value="18"`);
    }
    const total = days.reduce((sum, _day, index) => sum + index + 1 + 2, 0);
    expect(html).toContain(`${total} tool calls over the last 30 days; the busiest day had ${30 + 2}.`);
  });

  it("memories stored: what is active now, after saves, a forget and an edit that supersedes", async () => {
    const { browser } = await person("stored");
    const client = await connect(await keyOf(browser), "modern");
    const saved: string[] = [];
    for (const content of ["The build runs on Node 22.", "Releases go out on Tuesdays.", "The API answers JSON."]) {
      const answer = await callOk<{ results: { id: string }[] }>(client, "remember", { content, project: "stored" });
      saved.push(answer.results[0]?.id ?? "");
    }
    await callOk(client, "forget", { ids: [saved[0]] });
    // A new version supersedes the old one: still one stored memory.
    await callOk(client, "remember", {
      content: "Releases go out on Wednesdays.",
      project: "stored",
      supersedes: saved[1],
    });
    await client.close();
    const { html } = await browser.page("/app/usage");
    expect(html).toMatch(/Memories stored<\/span><span class="figure">2</);
  });

  it("billing: an unverified owner sees no Upgrade, and a replayed upgrade form is refused before Stripe", async () => {
    const { browser } = await person("unverified", false);
    const { html, csrf } = await browser.page("/app/billing");
    expect(html).toContain("Confirm your email address to change billing");
    expect(html).not.toContain("Upgrade to pro");
    const answer = await browser.post("/app/billing/checkout", { csrf, plan: "pro" });
    expect(answer.status).toBe(403);
    expect(await answer.text()).toContain("Confirm your account");
  });

  it("billing: Upgrade goes to Stripe Checkout, and the page may post there", async () => {
    const { browser, tenantId } = await person("upgrade");
    const page = await browser.page("/app/billing");
    expect(page.html).toContain("Upgrade to pro");
    const csp = page.response.headers.get("content-security-policy") ?? "";
    expect(csp).toContain(`form-action 'self' ${new URL(config.billing?.apiBase ?? "").origin}`);
    const answer = await browser.post("/app/billing/checkout", { csrf: page.csrf, plan: "pro" });
    expect(answer.status).toBe(303);
    const url = new URL(answer.headers.get("location") ?? "");
    expect(url.origin).toBe(new URL(config.billing?.apiBase ?? "").origin);
    expect(url.pathname).toMatch(/^\/checkout\/cs_/);
    const row = await openMgmtDb().execute(
      {
        sql: "SELECT stripe_customer_id FROM tenants WHERE id = ?",
        args: [tenantId],
      },
      "read",
    );
    expect(String(row.rows[0]?.stripe_customer_id)).toMatch(/^cus_/);
  });

  it("billing: a failing payment shows a banner with the end of the grace period", async () => {
    const { browser, tenantId } = await person("failing");
    await openMgmtDb().execute(
      {
        sql: `UPDATE tenants SET plan = 'pro', billing_payment_failed_at = '2026-12-01T08:00:00.000Z',
              billing_grace_ends_at = '2026-12-08T08:00:00.000Z' WHERE id = ?`,
        args: [tenantId],
      },
      "write",
    );
    const { html } = await browser.page("/app/billing");
    expect(html).toContain("Your last payment failed");
    expect(html).toContain("The pro plan stays in force until 2026-12-08 08:00 UTC");
  });

  it("data: import by upload reports per line, export downloads what is there", async () => {
    const { browser } = await person("data");
    const { csrf } = await browser.page("/app/data");
    const file = [
      JSON.stringify({ type: "entity", name: "Ada", entityType: "person", observations: ["Wrote the first program"] }),
      "{not json",
    ].join("\n");
    const form = new FormData();
    form.set("csrf", csrf);
    form.set("format", "knowledge-graph");
    form.set("file", new File([file], "graph.jsonl", { type: "application/json" }));
    const imported = await browser.fetch("/app/data/import", { method: "POST", body: form });
    const html = await imported.text();
    expect(imported.status, html).toBe(200);
    expect(html).toMatch(/<strong>1<\/strong> created/);
    expect(html).toMatch(/<strong>1<\/strong> failed/);
    expect(html).toContain("<td>2</td><td>failed</td>");
    const exported = await browser.fetch("/app/data/export?format=jsonl");
    expect(exported.status).toBe(200);
    expect(exported.headers.get("content-disposition")).toMatch(/^attachment; filename="muninn-/);
    expect(await exported.text()).toContain("Wrote the first program");
  });

  it("data: an upload past the forms' 16 KB and the API's 64 KiB default is taken; other console forms still are not", async () => {
    const { browser } = await person("large");
    const { csrf } = await browser.page("/app/data");
    const notes = Array.from(
      { length: 400 },
      (_, i) => `## Note ${i}\n\n${"a long enough line of text ".repeat(10)}${i}\n`,
    );
    const text = `# Big\n\n${notes.join("\n")}`;
    expect(text.length).toBeGreaterThan(100 * 1024);
    const form = new FormData();
    form.set("csrf", csrf);
    form.set("format", "markdown");
    form.set("file", new File([text], "big.md", { type: "text/markdown" }));
    const imported = await browser.fetch("/app/data/import", { method: "POST", body: form });
    expect(imported.status).toBe(200);
    expect(await imported.text()).toContain("Import finished");
    const tooBig = await browser.post("/app/settings/email", { csrf, email: "x".repeat(20 * 1024) });
    expect(tooBig.status).toBe(413);
  });

  it("data: deleting needs the team name typed, then the account is gone and the browser signed out", async () => {
    const { browser, team, tenantId } = await person("delete");
    const { csrf } = await browser.page("/app/data");
    const wrong = await browser.post("/app/data/delete", { csrf, team_name: `${team} nope` });
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain("nothing was deleted");
    const done = await browser.post("/app/data/delete", { csrf, team_name: team });
    expect(done.status).toBe(200);
    expect(await done.text()).toContain("Account deleted");
    const row = await openMgmtDb().execute({ sql: "SELECT id FROM tenants WHERE id = ?", args: [tenantId] }, "read");
    expect(row.rows).toHaveLength(0);
    const after = await browser.fetch("/app/usage");
    expect(after.status).toBe(303);
    expect(after.headers.get("location")).toMatch(/^\/signin/);
  });

  it("cross-tenant: another account's session sees and changes nothing of the first", async () => {
    const first = await person("owner");
    const second = await person("intruder");
    const firstKey = await keyOf(first.browser);
    const secret = `only-first-${crypto.randomUUID()}`;
    const mcp = await first.browser.fetch("/api/import?format=markdown", {
      method: "POST",
      headers: { authorization: `Bearer ${firstKey}`, "content-type": "text/markdown" },
      body: `# Note\n\n${secret}\n`,
    });
    expect(mcp.status).toBe(200);

    // Ids guessed: the tenant is never read from the request.
    for (const path of [
      `/app/usage?tenant=${first.tenantId}`,
      `/app/billing?tenant=${first.tenantId}`,
      `/app/data?tenant=${first.tenantId}`,
      `/app/data/export?format=jsonl&tenant=${first.tenantId}`,
    ]) {
      const answer = await second.browser.fetch(path);
      const text = await answer.text();
      expect(text, path).not.toContain(secret);
      expect(text, path).not.toContain(first.team);
      expect(text, path).not.toContain(first.tenantId);
    }
    // Forms replayed: the first's CSRF token with the second's session is refused; the second's own token acts on the second only.
    const firstCsrf = (await first.browser.page("/app/data")).csrf;
    const replayed = await second.browser.post("/app/data/delete", { csrf: firstCsrf, team_name: first.team });
    expect(replayed.status).toBe(403);
    const secondCsrf = (await second.browser.page("/app/data")).csrf;
    const named = await second.browser.post("/app/data/delete", {
      csrf: secondCsrf,
      team_name: first.team,
      tenant_id: first.tenantId,
    });
    expect(named.status).toBe(400);
    const checkout = await second.browser.post("/app/billing/checkout", {
      csrf: firstCsrf,
      plan: "pro",
      tenant_id: first.tenantId,
    });
    expect(checkout.status).toBe(403);
    const stillThere = await openMgmtDb().execute(
      {
        sql: "SELECT stripe_customer_id FROM tenants WHERE id = ?",
        args: [first.tenantId],
      },
      "read",
    );
    expect(stillThere.rows).toHaveLength(1);
    expect(stillThere.rows[0]?.stripe_customer_id).toBeNull();
    const exported = await first.browser.fetch("/app/data/export?format=jsonl");
    expect(await exported.text()).toContain(secret);
  });
});
