/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { z } from "zod";
import { writeAudit } from "../../../shared/audit";
import { AppError } from "../../../shared/errors";
import { MEMORY_KINDS } from "../../../shared/memory/model";
import { admitAction, failurePage } from "../admission";
import { type ConsoleContext, type ConsoleEnv, signedIn } from "../context";
import { MemoryPage } from "../pages/memory";
import { nameAuthors } from "../people";
import { render } from "../render";
import { requireSignIn } from "../session";
import { refuseUnlessRole } from "../team-access";
import { actor, postedForm } from "./app";
import { consoleDoor, doneMessage } from "./memories";
import { viewer } from "./viewer";

/**
 * A memory's page and every change a person makes to memory in the
 * console: edit (a new version), forget, restore, delete forever, resolve
 * and reopen an issue, and the bulk actions. Each POST checks the CSRF
 * token first (`postedForm`), is admitted as a write the way the API's
 * writes are (rate limit; refused while the database moves), goes through
 * the memory door (scope, field rules, quota, attribution "through the
 * console"), and is recorded in the audit log with the signed-in account as
 * its actor. The audit entry is written after the change: they live in
 * different databases (the tenant's and the management DB), so they cannot
 * share a transaction; a change whose entry failed to write is logged.
 */
export const memoryActions = new Hono<ConsoleEnv>();
memoryActions.use("/app/memories/*", requireSignIn());
// Viewers read; every change here needs a role that may write memory (the
// door refuses too, so this only gives them a clear page instead of an error).
memoryActions.post("/app/memories/*", async (c, next) => {
  const refused = refuseUnlessRole(c, ["owner", "admin", "member"], "change memories", BACK);
  if (refused) return refused;
  await next();
});

const ID = ":id{m_[A-Za-z0-9_-]{1,62}}";
const BACK = { href: "/app/memories", label: "Back to memories" };

/** The entry's target is the tenant, as every tenant entry's is (the log's targets are tenants and moves); the memories are in its details. */
async function audit(c: ConsoleContext, action: string, memories: string[], details: Record<string, unknown> = {}) {
  try {
    await writeAudit(c.get("services").mgmtDb, {
      tenantId: signedIn(c).account.tenantId,
      ...actor(c),
      action,
      details: { memories, ...details },
    });
  } catch (error) {
    c.get("logger").error("audit entry not written for a console memory change", {
      action,
      memories: memories.length,
      error: String(error),
    });
  }
}

async function showMemory(
  c: ConsoleContext,
  id: string,
  options: { notice?: string | null; error?: string | null; status?: 200 | 400 | 404 | 409 } = {},
) {
  const inspected = await (await consoleDoor(c)).inspect(id);
  if (!inspected) {
    return failurePage(c, new AppError("not_found", `no memory with id ${id}`, { code: "memory_not_found" }), BACK);
  }
  await nameAuthors(c, [
    inspected.writtenBy,
    inspected.changedBy,
    ...inspected.versions.map((version) => version.writtenBy),
    ...inspected.links.map((link) => link.createdBy),
  ]);
  return render(
    c,
    <MemoryPage viewer={viewer(c)} inspected={inspected} notice={options.notice} error={options.error} />,
    options.status ?? 200,
  );
}

memoryActions.get(`/app/memories/${ID}`, async (c) => {
  try {
    const done = c.req.query("done");
    return await showMemory(c, c.req.param("id"), { notice: done ? doneMessage(done) : null });
  } catch (error) {
    return failurePage(c, error, BACK);
  }
});

/**
 * The POST's form, CSRF checked and the write admitted; or the page that
 * says why not.
 */
async function writeForm(c: ConsoleContext): Promise<FormData | Response> {
  const form = await postedForm(c);
  if (form instanceof Response) return form;
  const refused = await admitAction(c, { write: true }, BACK);
  return refused ?? form;
}

const editForm = z.object({
  title: z.string().trim().max(200),
  content: z.string().min(1, "Content cannot be empty."),
  kind: z.enum(MEMORY_KINDS),
  importance: z.coerce.number().int().min(1).max(5),
  tags: z.string().max(2000),
});

memoryActions.post(`/app/memories/${ID}/edit`, async (c) => {
  const id = c.req.param("id");
  const form = await writeForm(c);
  if (form instanceof Response) return form;
  const parsed = editForm.safeParse(Object.fromEntries(form));
  if (!parsed.success) {
    return showMemory(c, id, { error: parsed.error.issues[0]?.message ?? "Check the fields.", status: 400 });
  }
  const { title, content, kind, importance, tags } = parsed.data;
  try {
    const door = await consoleDoor(c);
    const updated = await door.update({
      id,
      title: title === "" ? null : title,
      content: content.replace(/\r\n/g, "\n"),
      kind,
      importance,
      tags: tags
        .split(",")
        .map((tag) => tag.trim())
        .filter(Boolean),
    });
    await audit(c, "memory.update", [id], { version: updated.version });
    return c.redirect(`/app/memories/${id}?done=edited`, 303);
  } catch (error) {
    if (error instanceof AppError && error.status < 500 && error.status !== 429 && error.status !== 404) {
      return showMemory(c, id, { error: error.message, status: error.status === 409 ? 409 : 400 });
    }
    return failurePage(c, error, { href: `/app/memories/${id}`, label: "Back to the memory" });
  }
});

type Change = "forget" | "restore" | "delete" | "resolve" | "reopen";

/** One change to one memory, then back to its page (or the list, once it is deleted). */
async function change(c: ConsoleContext, what: Change) {
  const id = c.req.param("id") ?? "";
  const form = await writeForm(c);
  if (form instanceof Response) return form;
  const back = { href: `/app/memories/${id}`, label: "Back to the memory" };
  try {
    const door = await consoleDoor(c);
    if (what === "delete" && form.get("confirm") !== "yes") {
      return showMemory(c, id, { error: "Tick the box to confirm: deleting forever cannot be undone.", status: 400 });
    }
    let found = true;
    if (what === "forget") found = (await door.forget([id], false)).forgotten.length === 1;
    if (what === "delete") found = (await door.forget([id], true)).forgotten.length === 1;
    if (what === "restore") found = (await door.restore([id])).restored.length === 1;
    if (what === "resolve") {
      const resolution = String(form.get("resolution") ?? "").trim();
      if (resolution === "")
        return failurePage(c, new AppError("invalid_request", "say how the issue was resolved"), back);
      await door.resolveIssue(id, resolution);
    }
    if (what === "reopen") await door.reopenIssue(id);
    if (!found)
      throw new AppError(
        "not_found",
        `no memory with id ${id} that can be ${what === "restore" ? "restored" : "changed"}`,
      );
    await audit(c, what === "resolve" || what === "reopen" ? `issue.${what}` : `memory.${what}`, [id]);
    const done = {
      forget: "forgotten",
      restore: "restored",
      delete: "deleted",
      resolve: "resolved",
      reopen: "reopened",
    }[what];
    if (what === "resolve" || what === "reopen") return c.redirect(`/app/memories/issues?done=${done}`, 303);
    return c.redirect(what === "delete" ? `/app/memories?done=${done}` : `/app/memories/${id}?done=${done}`, 303);
  } catch (error) {
    return failurePage(c, error, what === "delete" ? BACK : back);
  }
}

for (const what of ["forget", "restore", "delete", "resolve", "reopen"] as const) {
  memoryActions.post(`/app/memories/${ID}/${what}`, (c) => change(c, what));
}

const bulkForm = z.object({
  action: z.enum(["forget", "restore", "delete", "move"]),
  ids: z
    .array(z.string().regex(/^m_[A-Za-z0-9_-]{1,62}$/))
    .min(1, "Select at least one memory.")
    .max(100),
  to_project: z.string().trim().optional(),
  confirm: z.string().optional(),
  back: z.string().optional(),
});

/** Where to go back to after a bulk change: the list the person came from, and only ever the list. */
function backTo(back: string | undefined): string {
  return back?.startsWith("/app/memories") && !back.startsWith("//") ? back : "/app/memories";
}

memoryActions.post("/app/memories/bulk", async (c) => {
  const form = await writeForm(c);
  if (form instanceof Response) return form;
  const parsed = bulkForm.safeParse({
    action: form.get("action"),
    ids: form.getAll("id").map(String),
    to_project: form.get("to_project") ?? undefined,
    confirm: form.get("confirm") ?? undefined,
    back: form.get("back") ?? undefined,
  });
  if (!parsed.success) {
    return failurePage(c, new AppError("invalid_request", parsed.error.issues[0]?.message ?? "check the form"), BACK);
  }
  const { action, ids, to_project: project, confirm } = parsed.data;
  const back = backTo(parsed.data.back);
  try {
    const door = await consoleDoor(c);
    let count = 0;
    if (action === "delete") {
      if (confirm !== "yes") {
        throw new AppError(
          "invalid_request",
          "tick the box to confirm: deleting forever cannot be undone; nothing was deleted",
        );
      }
      count = (await door.forget(ids, true)).forgotten.length;
    }
    if (action === "forget") count = (await door.forget(ids, false)).forgotten.length;
    if (action === "restore") count = (await door.restore(ids)).restored.length;
    if (action === "move") {
      if (!project)
        throw new AppError("invalid_request", "name the project to move the memories to; nothing was moved");
      count = (await door.move(ids, project)).moved.length;
    }
    await audit(c, `memory.bulk_${action}`, ids, { count, ...(project && action === "move" && { project }) });
    const done = { delete: "deleted", forget: "forgotten", restore: "restored", move: "moved" }[action];
    const separator = back.includes("?") ? "&" : "?";
    return c.redirect(`${back.replace(/[?&]done=[^&]*/, "")}${separator}done=${done}-${count}`, 303);
  } catch (error) {
    return failurePage(c, error, { href: back, label: "Back to memories" });
  }
});
