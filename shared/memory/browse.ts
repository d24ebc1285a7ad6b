import { z } from "zod";
import { decodeCursor, encodeCursor } from "../cursor";
import type { Database } from "../db/client";
import { readPage } from "../db/page";
import { type Attribution, parseAttribution } from "./attribution";
import { type Memory, type MemoryKind, type MemoryStatus, normalizeTags, rowToMemory } from "./model";

/**
 * The console's view of a tenant's memory: newest first, a keyset page at
 * a time, filtered by project, kind, tag and time, with the counts per
 * project and kind. Unlike `list` (an agent's tool), reading here is not a
 * use of a memory: browsing does not change what recall ranks up.
 */
export interface BrowseInput {
  /** One project; all when absent. */
  project?: string;
  kind?: MemoryKind;
  tag?: string;
  /** Changed at or after this time (ms since the epoch). */
  since?: number;
  status?: MemoryStatus;
  limit?: number;
  cursor?: string;
}

export type BrowsedMemory = Memory & { writtenBy: Attribution | null };

export interface BrowsePage {
  memories: BrowsedMemory[];
  nextCursor: string | null;
}

/** A browse cursor: the last row's `updated_at` and `seq`. */
const browseCursor = z.tuple([z.number(), z.number()]);

/**
 * One page. The order is (updated_at, seq) descending, which the
 * `(project, status, updated_at)` and `(status, updated_at)` indexes serve
 * directly, so a page costs the same over 1,000 memories as over 100,000:
 * no OFFSET, no COUNT.
 */
export async function browseMemories(db: Database, input: BrowseInput): Promise<BrowsePage> {
  const tag = input.tag ? normalizeTags([input.tag])[0] : undefined;
  const after = input.cursor ? decodeCursor(browseCursor, input.cursor, "the memories page") : null;
  const { rows, hasMore } = await readPage(db, {
    select: "SELECT m.* FROM memories m",
    conditions: [
      ["m.status = ?", input.status ?? "active"],
      input.project ? ["m.project = ?", input.project] : null,
      input.kind ? ["m.kind = ?", input.kind] : null,
      tag ? ["m.seq IN (SELECT memory_seq FROM memory_tags WHERE tag = ?)", tag] : null,
      input.since !== undefined ? ["m.updated_at >= ?", input.since] : null,
      after ? ["(m.updated_at < ? OR (m.updated_at = ? AND m.seq < ?))", after[0], after[0], after[1]] : null,
    ],
    orderBy: "m.updated_at DESC, m.seq DESC",
    limit: input.limit ?? 25,
  });
  const last = rows.at(-1);
  return {
    memories: rows.map((row) => ({ ...rowToMemory(row), writtenBy: parseAttribution(row.written_by) })),
    nextCursor: hasMore && last ? encodeCursor([Number(last.updated_at), Number(last.seq)]) : null,
  };
}

export interface MemoryCounts {
  /** Per project: its memories in each status. */
  projects: { project: string; active: number; forgotten: number }[];
  /** Active memories per kind, over all projects or the one asked for. */
  kinds: { kind: string; active: number }[];
}

/**
 * Counts from `memory_counts`, which triggers keep exact on every insert,
 * delete and change of project, kind or status (tenant DB v4): a read of a
 * few dozen rows, whatever the number of memories.
 */
export async function memoryCounts(db: Database, project?: string): Promise<MemoryCounts> {
  const result = await db.execute("SELECT project, kind, status, n FROM memory_counts WHERE n > 0", "read");
  const projects = new Map<string, { project: string; active: number; forgotten: number }>();
  const kinds = new Map<string, number>();
  for (const row of result.rows) {
    const slug = String(row.project);
    const n = Number(row.n);
    const entry = projects.get(slug) ?? { project: slug, active: 0, forgotten: 0 };
    if (row.status === "active") entry.active += n;
    if (row.status === "forgotten") entry.forgotten += n;
    projects.set(slug, entry);
    if (row.status === "active" && (!project || project === slug)) {
      kinds.set(String(row.kind), (kinds.get(String(row.kind)) ?? 0) + n);
    }
  }
  return {
    projects: [...projects.values()].sort((a, b) => a.project.localeCompare(b.project)),
    kinds: [...kinds].map(([kind, active]) => ({ kind, active })).sort((a, b) => a.kind.localeCompare(b.kind)),
  };
}
