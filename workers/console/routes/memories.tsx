/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { z } from "zod";
import { describeAttribution } from "../../../shared/memory/attribution";
import type { MemoryDoor } from "../../../shared/memory/door";
import { searchTokens } from "../../../shared/memory/fts-query";
import { MEMORY_KINDS, type MemoryKind, PROJECT_SLUG } from "../../../shared/memory/model";
import { matchedWords } from "../../../shared/memory/snippet";
import { memberDoor } from "../../memory-door";
import { admitAction, failurePage } from "../admission";
import { asApp, type ConsoleContext, type ConsoleEnv, signedIn } from "../context";
import { IssuesPage } from "../pages/issues";
import { MemoriesPage, type MemoryFilters, type SearchResult, TIME_CHOICES, title } from "../pages/memories";
import { nameAuthors } from "../people";
import { render } from "../render";
import { requireSignIn } from "../session";
import { ownTenantDb } from "../tenant-db";
import { viewer } from "./viewer";

/**
 * `/app/memories`: the signed-in person's memory, through the same memory
 * door (`shared/memory/door.ts`) the agents' tools use — browse, search
 * with `recall`, and (routes/memory-actions.tsx) change. The door is
 * opened on the session's own tenant database (`ownTenantDb`), never on
 * one a request names, so an id from another account is simply not found.
 */
export const memoriesPages = new Hono<ConsoleEnv>();
memoriesPages.use("/app/memories", requireSignIn());
memoriesPages.use("/app/memories/*", requireSignIn());

const DAY_MS = 86_400_000;
const PAGE_SIZE = 25;

/** The console's door: the owner's, attributed to the signed-in account "through the console". */
export async function consoleDoor(c: ConsoleContext): Promise<MemoryDoor> {
  const { account, session } = signedIn(c);
  return memberDoor(asApp(c), account.tenantId, await ownTenantDb(c), account.id, session.role);
}

/** Anything unreadable in the query falls back to "no filter" rather than an error page: it is a bookmark. */
const filtersQuery = z.object({
  project: z.string().regex(PROJECT_SLUG).catch(""),
  kind: z.enum(MEMORY_KINDS).optional().catch(undefined),
  tag: z.string().max(64).catch(""),
  days: z.enum(TIME_CHOICES.map((choice) => choice.value) as [string, ...string[]]).catch(""),
  status: z.enum(["active", "forgotten"]).catch("active"),
  q: z.string().max(2000).catch(""),
  cursor: z.string().max(200).optional().catch(undefined),
});

function filtersOf(c: ConsoleContext): MemoryFilters & { cursor?: string } {
  const query = c.req.query();
  const parsed = filtersQuery.parse({
    project: query.project ?? "",
    kind: query.kind || undefined,
    tag: (query.tag ?? "").trim(),
    days: query.days ?? "",
    status: query.status ?? "active",
    q: (query.q ?? "").trim(),
    cursor: query.cursor || undefined,
  });
  return { ...parsed, kind: parsed.kind ?? "" };
}

async function search(door: MemoryDoor, filters: MemoryFilters): Promise<SearchResult> {
  const result = await door.recall({
    query: filters.q,
    ...(filters.project ? { project: filters.project } : { allProjects: true }),
    ...(filters.kind && { kinds: [filters.kind as MemoryKind] }),
    ...(filters.tag && { tags: [filters.tag] }),
    ...(filters.days && { since: new Date(Date.now() - Number(filters.days) * DAY_MS).toISOString() }),
    includeForgotten: filters.status === "forgotten",
    limit: 20,
    explain: true,
  });
  const words = searchTokens(filters.q);
  return {
    ...result,
    hits: result.hits.map((hit) => ({
      hit,
      matched: matchedWords([hit.title ?? "", hit.tags.join(" "), hit.snippet].join(" "), words),
    })),
  };
}

memoriesPages.get("/app/memories", async (c) => {
  const filters = filtersOf(c);
  try {
    // A search is recall, the heaviest read there is: admitted as the API's recall is (the tenant's rate
    // limit), so a signed-in page cannot be used to run searches faster than a key could. Browsing is a
    // keyset read and is not.
    if (filters.q) {
      const refused = await admitAction(c, {}, { href: "/app/memories", label: "Back to memories" });
      if (refused) return refused;
    }
    const door = await consoleDoor(c);
    const since = filters.days ? Date.now() - Number(filters.days) * DAY_MS : undefined;
    const [counts, page, found] = await Promise.all([
      door.counts(filters.project || undefined),
      filters.q
        ? null
        : door.browse({
            project: filters.project || undefined,
            kind: (filters.kind || undefined) as MemoryKind | undefined,
            tag: filters.tag || undefined,
            since,
            status: filters.status,
            limit: PAGE_SIZE,
            cursor: filters.cursor,
          }),
      filters.q ? search(door, filters) : null,
    ]);
    const newest = page?.memories[0]?.updatedAt;
    await nameAuthors(c, page?.memories.map((memory) => memory.writtenBy) ?? []);
    return render(
      c,
      <MemoriesPage
        viewer={viewer(c)}
        filters={filters}
        counts={counts}
        page={page && { ...page, first: !filters.cursor }}
        search={found}
        notice={c.req.query("done") ? doneMessage(c.req.query("done") ?? "") : null}
        liveSince={newest ? Date.parse(newest) : Date.now()}
      />,
    );
  } catch (error) {
    return failurePage(c, error, { href: "/app/memories", label: "Back to memories" });
  }
});

/** What a redirect after a change says it did (a fixed list: nothing from the query is shown as is). */
export function doneMessage(done: string): string | null {
  const match = /^(edited|forgotten|restored|deleted|moved|resolved|reopened)(?:-(\d{1,4}))?$/.exec(done);
  if (!match) return null;
  const count = match[2] ? Number(match[2]) : null;
  const what = count === null ? "The memory was" : `${count} ${count === 1 ? "memory was" : "memories were"}`;
  const how: Record<string, string> = {
    edited: "saved as a new version",
    forgotten: "forgotten; it can be restored for 30 days",
    restored: "restored",
    deleted: "deleted forever",
    moved: "moved",
    resolved: "resolved",
    reopened: "reopened",
  };
  return `${what} ${how[match[1] ?? ""]}.`;
}

const liveQuery = z.object({
  since: z.coerce.number().int().nonnegative(),
  project: z.string().regex(PROJECT_SLUG).optional().catch(undefined),
  kind: z.enum(MEMORY_KINDS).optional().catch(undefined),
  tag: z.string().max(64).optional().catch(undefined),
});

/**
 * Short polling for the page's script: memories changed after `since`,
 * newest first, as JSON (no HTML: the script builds the rows with
 * `textContent`). One keyset read of at most a page; docs/auth.md says why
 * polling and not a held stream.
 */
memoriesPages.get("/app/memories/live", async (c) => {
  const parsed = liveQuery.safeParse(c.req.query());
  if (!parsed.success) return c.json({ error: "since: milliseconds since the epoch" }, 400);
  const { since, project, kind, tag } = parsed.data;
  const door = await consoleDoor(c);
  const page = await door.browse({
    project: project || undefined,
    kind,
    tag: tag || undefined,
    since: since + 1,
    limit: PAGE_SIZE,
  });
  c.header("Cache-Control", "no-store");
  await nameAuthors(
    c,
    page.memories.map((memory) => memory.writtenBy),
  );
  return c.json({
    memories: page.memories.reverse().map((memory) => ({
      id: memory.id,
      title: title(memory),
      excerpt: memory.content.length > 240 ? `${memory.content.slice(0, 239)}…` : memory.content,
      kind: memory.kind,
      project: memory.project,
      updatedAt: memory.updatedAt,
      by: memory.writtenBy ? `by ${describeAttribution(memory.writtenBy)}` : "before attribution",
    })),
  });
});

const issuesQuery = z.object({ state: z.enum(["open", "resolved", "all"]).catch("open") });

memoriesPages.get("/app/memories/issues", async (c) => {
  const { state } = issuesQuery.parse({ state: c.req.query("state") ?? "open" });
  try {
    const issues = await (await consoleDoor(c)).issues({ allProjects: true, state, limit: 200 });
    const done = c.req.query("done");
    return render(
      c,
      <IssuesPage viewer={viewer(c)} issues={issues} state={state} notice={done ? doneMessage(done) : null} />,
    );
  } catch (error) {
    return failurePage(c, error, { href: "/app/memories", label: "Back to memories" });
  }
});
