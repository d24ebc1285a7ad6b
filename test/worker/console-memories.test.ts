import { describe, expect, it } from "vitest";
import { type Browser, captureEmail, signedUpBrowser } from "./console-support";
import { callOk, connect } from "./mcp-support";
import { openMgmtDb } from "./support";

const mail = captureEmail();

interface Saved {
  results: { id: string }[];
}
interface Recalled {
  results: { id: string; snippet: string }[];
}

/** A key made on the keys page, as a person would. */
async function keyOf(browser: Browser, name: string): Promise<string> {
  const { csrf } = await browser.page("/app/keys");
  const made = await browser.post("/app/keys", { csrf, name, scopes: ["mcp:tools"], expires: "" });
  const key = /(mk_[A-Za-z0-9_]+)/.exec(await made.text())?.[1];
  if (!key) throw new Error("no key on the keys page");
  return key;
}

/** An owner signed in to the console, with an agent (MCP client over one of their keys) that saves memories. */
async function ownerWithAgent(tag: string) {
  const { browser, email } = await signedUpBrowser(mail, tag);
  const agent = await connect(await keyOf(browser, "laptop"), "modern");
  const remember = async (args: Record<string, unknown>) =>
    (await callOk<Saved>(agent, "remember", args)).results[0]?.id ?? "";
  const recall = (query: string) => callOk<Recalled>(agent, "recall", { query, all_projects: true });
  return { browser, email, agent, remember, recall };
}

describe("the console's memories room", () => {
  it("shows what an agent saved with who wrote it, searches with recall's reasons, and edits as a new version", async () => {
    const { browser, email, remember, recall } = await ownerWithAgent("memories");
    const db = await remember({
      content: "We chose Postgres for the billing ledger.",
      kind: "decision",
      project: "core",
    });
    await remember({ content: "Deploys go out on Tuesdays.", kind: "fact", project: "ops", tags: ["deploy"] });
    await remember({ content: "The CI cache is flaky on ARM runners.", kind: "learning", project: "core" });

    const list = await browser.page("/app/memories");
    expect(list.response.status).toBe(200);
    expect(list.html).toContain("We chose Postgres for the billing ledger.");
    // The key's owner is a member of the team, so the console names them first.
    expect(list.html).toMatch(/by memories-[0-9a-f]+ via test-modern 1\.0\.0 \(key “laptop”\)/);
    expect(list.html).toMatch(/<strong>3<\/strong> current memories in 2 projects/);
    const core = await browser.page("/app/memories?project=core&kind=decision");
    expect(core.html).toContain("billing ledger");
    expect(core.html).not.toContain("Tuesdays");
    expect((await browser.page("/app/memories?tag=deploy")).html).toContain("Tuesdays");

    const found = await browser.page("/app/memories?q=postgres+ledger");
    expect(found.html).toContain("Why it matched");
    expect(found.html).toMatch(/<dt>Matched words<\/dt><dd>postgres, ledger<\/dd>/);
    expect(found.html).toMatch(/<dt>signals: text<\/dt><dd>[0-9.]+<\/dd>/);

    const page = await browser.page(`/app/memories/${db}`);
    expect(page.html).toContain("No earlier versions");
    const edited = await browser.post(`/app/memories/${db}/edit`, {
      csrf: page.csrf,
      title: "Ledger database",
      content: "We chose SQLite for the billing ledger.",
      kind: "decision",
      importance: "4",
      tags: "billing, storage",
    });
    expect(edited.status).toBe(303);
    const after = await browser.page(`/app/memories/${db}?done=edited`);
    expect(after.html).toContain("saved as a new version");
    expect(after.html).toContain("Version 2");
    expect(after.html).toContain("Version 1");
    expect(after.html).toContain("We chose Postgres for the billing ledger.");
    expect(after.html).toMatch(
      /Version 2<\/strong> \(current\)[^<]*<span class="author">by memories-[0-9a-f]+ \(the console\)<\/span>/,
    );
    const hits = (await recall("billing ledger")).results.filter((hit) => hit.id === db);
    expect(hits).toHaveLength(1);
    expect(hits[0]?.snippet).toContain("SQLite");
    expect(hits[0]?.snippet).not.toContain("Postgres");

    const audit = await openMgmtDb().execute(
      {
        sql: "SELECT actor, action, target FROM audit_log WHERE json_extract(metadata, '$.memories[0]') = ? ORDER BY id",
        args: [db],
      },
      "read",
    );
    expect(audit.rows.map((row) => row.action)).toEqual(["memory.update"]);
    expect(String(audit.rows[0]?.actor)).toMatch(/^user:/);
    const owner = await openMgmtDb().execute(
      { sql: "SELECT tenant_id FROM users WHERE email = ?", args: [email] },
      "read",
    );
    expect(audit.rows[0]?.target).toBe(owner.rows[0]?.tenant_id);
  });

  it("pages older memories with a cursor link: every memory once, newest first; counts follow forgets", async () => {
    const { browser, agent } = await ownerWithAgent("paging");
    const contents = Array.from({ length: 30 }, (_, i) => `Paged memory number ${i} about topic ${i * 7}.`);
    for (const content of contents) await callOk(agent, "remember", { content, project: "paged" });
    const first = await browser.page("/app/memories?project=paged");
    expect(first.html).toMatch(/<strong>30<\/strong> current memories in 1 project\./);
    const ids = (html: string) => [...html.matchAll(/<li data-id="(m_[^"]+)"/g)].map((match) => match[1]);
    const older = /href="(\/app\/memories\?[^"]*cursor=[^"]+)"/.exec(first.html)?.[1]?.replace(/&amp;/g, "&") ?? "";
    expect(older).toContain("project=paged");
    const second = await browser.page(older);
    expect(second.html).not.toContain("Older memories");
    const seen = [...ids(first.html), ...ids(second.html)];
    expect(seen).toHaveLength(30);
    expect(new Set(seen).size).toBe(30);
    expect(first.html.indexOf("number 29 ")).toBeLessThan(first.html.indexOf("number 28 "));
    expect(second.html).toContain("Paged memory number 0 about");

    const [oldest] = ids(second.html).slice(-1);
    expect(
      (await browser.post("/app/memories/bulk", { csrf: first.csrf, action: "forget", id: [oldest ?? ""] })).status,
    ).toBe(303);
    expect((await browser.page("/app/memories")).html).toMatch(/<strong>29<\/strong> current memories/);
    expect((await browser.page("/app/memories?status=forgotten")).html).toContain("Paged memory number 0 about");
  });

  it("forget hides a memory from recall, restore brings it back, delete forever needs the box ticked", async () => {
    const { browser, remember, recall } = await ownerWithAgent("forget");
    const id = await remember({ content: "The staging password rotates monthly." });
    const { csrf } = await browser.page(`/app/memories/${id}`);
    expect((await browser.post(`/app/memories/${id}/forget`, { csrf })).status).toBe(303);
    expect((await recall("staging password")).results.map((hit) => hit.id)).not.toContain(id);
    expect((await browser.page("/app/memories?status=forgotten")).html).toContain("staging password");
    expect((await browser.post(`/app/memories/${id}/restore`, { csrf })).status).toBe(303);
    expect((await recall("staging password")).results.map((hit) => hit.id)).toContain(id);

    const unconfirmed = await browser.post(`/app/memories/${id}/delete`, { csrf });
    expect(unconfirmed.status).toBe(400);
    expect(await unconfirmed.text()).toContain('role="alert"');
    expect((await browser.post(`/app/memories/${id}/delete`, { csrf, confirm: "yes" })).status).toBe(303);
    expect((await browser.fetch(`/app/memories/${id}`)).status).toBe(404);
  });

  it("bulk forget and move, the live feed, and issues with their status changes", async () => {
    const { browser, remember, agent } = await ownerWithAgent("bulk");
    const since = Date.now() - 1;
    const a = await remember({ content: "Alpha note about queues." });
    const b = await remember({ content: "Beta note about caches." });
    const live = (await (await browser.fetch(`/app/memories/live?since=${since}`)).json()) as {
      memories: { id: string; by: string }[];
    };
    expect(live.memories.map((memory) => memory.id)).toEqual([a, b]);
    expect(live.memories[0]?.by).toMatch(/^by bulk-[0-9a-f]+ via test-modern 1\.0\.0 \(key “laptop”\)$/);

    const { csrf } = await browser.page("/app/memories");
    const moved = await browser.post("/app/memories/bulk", { csrf, action: "move", id: [a, b], to_project: "archive" });
    expect(moved.status).toBe(303);
    expect(moved.headers.get("location")).toBe("/app/memories?done=moved-2");
    expect((await browser.page("/app/memories?project=archive")).html).toContain("Beta note about caches.");
    const refused = await browser.post("/app/memories/bulk", { csrf, action: "delete", id: [a] });
    expect(refused.status).toBe(400);
    expect((await browser.post("/app/memories/bulk", { csrf, action: "forget", id: [a, b] })).status).toBe(303);
    expect((await browser.page("/app/memories?project=archive")).html).toContain("No memories match");

    const issue = await callOk<{ id: string }>(agent, "track", { action: "add", title: "Export times out" });
    const issues = await browser.page("/app/memories/issues");
    expect(issues.html).toContain("Export times out");
    const resolved = await browser.post(`/app/memories/${issue.id}/resolve`, { csrf, resolution: "streamed it" });
    expect(resolved.status).toBe(303);
    expect((await browser.page("/app/memories/issues?state=resolved")).html).toContain("Resolution: streamed it");
    expect((await browser.post(`/app/memories/${issue.id}/reopen`, { csrf })).status).toBe(303);
    expect((await browser.page("/app/memories/issues")).html).toContain("Export times out");
  });

  it("an export carries who wrote each memory and version, and an import into another account keeps it", async () => {
    const { browser, remember } = await ownerWithAgent("export");
    const id = await remember({ content: "Attribution survives a move between accounts." });
    const { csrf } = await browser.page(`/app/memories/${id}`);
    const edit = {
      csrf,
      title: "",
      content: "Attribution survives an export.",
      kind: "note",
      importance: "3",
      tags: "",
    };
    expect((await browser.post(`/app/memories/${id}/edit`, edit)).status).toBe(303);
    const exported = await (await browser.fetch("/app/data/export?format=jsonl")).text();
    const line = exported.split("\n").find((text) => text.includes(id)) ?? "";
    const record = JSON.parse(line) as { written_by: unknown; versions: { written_by: unknown }[] };
    expect(record.written_by).toMatchObject({ via: { kind: "console", name: null }, client: null });
    expect(record.versions[0]?.written_by).toMatchObject({
      via: { kind: "key", name: "laptop" },
      client: { name: "test-modern", version: "1.0.0" },
    });

    const { browser: other } = await signedUpBrowser(mail, "importer");
    const form = new FormData();
    form.set("csrf", (await other.page("/app/data")).csrf);
    form.set("format", "muninn");
    form.set("file", new File([exported], "export.jsonl", { type: "application/jsonl" }));
    expect((await other.fetch("/app/data/import", { method: "POST", body: form })).status).toBe(200);
    const imported = await other.page(`/app/memories/${id}`);
    // Another team: the writer's account is kept but not named (names resolve only within the team).
    expect(imported.html).toMatch(
      /Version 1<\/strong>, replaced [^<]*<span class="author">by key “laptop” via test-modern 1\.0\.0</,
    );
    expect(imported.html).toMatch(/Version 2<\/strong> \(current\)[^<]*<span class="author">by the console<\/span>/);
  });

  it("another account's session sees and changes nothing of the first account's memory", async () => {
    const owner = await ownerWithAgent("victim");
    const id = await owner.remember({ content: "Secret plan: ship on Friday.", project: "secret" });
    const issue = await callOk<{ id: string }>(owner.agent, "track", { action: "add", title: "Private issue" });
    const ownerCsrf = (await owner.browser.page("/app/memories")).csrf;
    const { browser: other } = await signedUpBrowser(mail, "intruder");
    const { csrf, html } = await other.page("/app/memories");
    expect(html).not.toContain("Secret plan");
    expect((await other.page("/app/memories?q=secret+plan")).html).not.toContain("Secret plan");
    expect((await other.page("/app/memories?project=secret")).html).not.toContain("Secret plan");
    expect((await other.fetch(`/app/memories/${id}`)).status).toBe(404);
    const live = await (await other.fetch("/app/memories/live?since=0")).text();
    expect(live).not.toContain(id);
    expect((await other.page("/app/memories/issues")).html).not.toContain("Private issue");

    for (const action of ["forget", "restore", "resolve", "reopen"]) {
      const answer = await other.post(
        `/app/memories/${action === "resolve" || action === "reopen" ? issue.id : id}/${action}`,
        {
          csrf,
          resolution: "x",
        },
      );
      expect(answer.status).toBe(404);
    }
    expect((await other.post(`/app/memories/${id}/delete`, { csrf, confirm: "yes" })).status).toBe(404);
    const edit = await other.post(`/app/memories/${id}/edit`, {
      csrf,
      title: "",
      content: "overwritten",
      kind: "note",
      importance: "3",
      tags: "",
    });
    expect(edit.status).toBe(404);
    for (const action of ["forget", "move", "delete"]) {
      const bulk = await other.post("/app/memories/bulk", {
        csrf,
        action,
        id: [id],
        to_project: "mine",
        confirm: "yes",
      });
      expect(bulk.headers.get("location")).toMatch(/done=\w+-0$/);
    }
    // The owner's form replayed with the other session: its token is not this session's.
    expect((await other.post(`/app/memories/${id}/forget`, { csrf: ownerCsrf })).status).toBe(403);

    const mine = await owner.browser.page(`/app/memories/${id}`);
    expect(mine.html).toContain("Secret plan: ship on Friday.");
    expect(mine.html).toContain("No earlier versions");
    expect(mine.html).toMatch(/<dt>Status<\/dt><dd>active/);
    expect(mine.html).toMatch(/<dt>Project<\/dt><dd>secret<\/dd>/);
    expect((await owner.browser.page("/app/memories/issues")).html).toContain("Private issue");
  });
});
