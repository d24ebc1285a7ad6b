import type { Database } from "../db/client";
import { ftsQuery } from "./fts-query";
import { DEFAULT_PROJECT, type MemoryKind, type MemoryStatus, normalizeFiles, normalizeTags, type Row } from "./model";
import { placeholders } from "./sql";

export interface RecallInput {
  query?: string;
  files?: string[];
  kinds?: MemoryKind[];
  tags?: string[];
  tagMode?: "any" | "all";
  /** One project (default `default`), unless `allProjects`. */
  project?: string;
  allProjects?: boolean;
  /** ISO times bounding `created`. */
  since?: string;
  until?: string;
  includeSuperseded?: boolean;
  includeForgotten?: boolean;
  limit?: number;
  explain?: boolean;
}

export interface SignalBreakdown {
  text: number;
  file: number;
  recency: number;
  importance: number;
  use: number;
}

export interface RecallHit {
  id: string;
  project: string;
  kind: MemoryKind;
  title: string | null;
  snippet: string;
  score: number;
  tags: string[];
  files: string[];
  importance: number;
  status: MemoryStatus;
  createdAt: string;
  updatedAt: string;
  explain?: { signals: SignalBreakdown; weights: SignalBreakdown };
}

export interface RecallResult {
  hits: RecallHit[];
  /** Set when the query text had nothing searchable in it (only punctuation or emoji). */
  note?: string;
}

/**
 * How much each signal counts. Text relevance dominates; a file match is the
 * next strongest hint that a memory is about the code at hand; recency,
 * importance and use break ties between otherwise similar hits.
 */
export const WEIGHTS: SignalBreakdown = { text: 0.6, file: 0.4, recency: 0.15, importance: 0.15, use: 0.1 };

/** Recency halves roughly every three weeks. */
const RECENCY_DAYS = 30;
const DAY_MS = 86_400_000;
/** How many candidates each source contributes before re-ranking. */
const CANDIDATES = 100;
const SNIPPET_CHARS = 240;

interface Filters {
  where: string[];
  args: (string | number)[];
}

function buildFilters(input: RecallInput): Filters {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (!input.allProjects) {
    where.push("m.project = ?");
    args.push(input.project ?? DEFAULT_PROJECT);
  }
  const statuses: MemoryStatus[] = ["active"];
  if (input.includeSuperseded) statuses.push("superseded");
  if (input.includeForgotten) statuses.push("forgotten");
  where.push(`m.status IN (${placeholders(statuses.length)})`);
  args.push(...statuses);
  if (input.kinds && input.kinds.length > 0) {
    where.push(`m.kind IN (${placeholders(input.kinds.length)})`);
    args.push(...input.kinds);
  }
  const tags = normalizeTags(input.tags);
  if (tags.length > 0) {
    if (input.tagMode === "all") {
      where.push(
        `(SELECT COUNT(*) FROM memory_tags t WHERE t.memory_seq = m.seq AND t.tag IN (${placeholders(tags.length)})) = ?`,
      );
      args.push(...tags, tags.length);
    } else {
      where.push(`m.seq IN (SELECT memory_seq FROM memory_tags WHERE tag IN (${placeholders(tags.length)}))`);
      args.push(...tags);
    }
  }
  if (input.since) {
    where.push("m.created_at >= ?");
    args.push(Date.parse(input.since));
  }
  if (input.until) {
    where.push("m.created_at <= ?");
    args.push(Date.parse(input.until));
  }
  return { where, args };
}

/**
 * A stored path relates to a queried path when they are equal, or one is a
 * directory containing the other. Ranges on the primary key stand in for
 * LIKE so the lookup stays an index seek ('/' + 1 is '0').
 *
 * Exact paths and every ancestor directory go into one de-duplicated list,
 * bound as a single JSON parameter: OR-ing a clause per ancestor outgrew
 * SQLite's expression depth limit (1000) at 50 deep paths, and a placeholder
 * per ancestor would approach its parameter limit. Only the per-path ranges
 * are OR-ed, so the expression grows with the number of paths (at most
 * LIMITS.files), never with their depth.
 */
function fileCandidates(files: string[], filters: Filters) {
  const exact = new Set<string>();
  const ranges: string[] = [];
  const rangeArgs: string[] = [];
  for (const path of files) {
    const dir = path.replace(/\/+$/, "");
    exact.add(path);
    ranges.push("(f.path >= ? AND f.path < ?)");
    rangeArgs.push(`${dir}/`, `${dir}0`);
    // Ancestors of the queried path, in case a memory was filed against a directory.
    const parts = dir.split("/");
    for (let i = parts.length - 1; i > 0; i--) {
      const ancestor = parts.slice(0, i).join("/");
      exact.add(ancestor).add(`${ancestor}/`);
    }
  }
  return {
    sql: `SELECT DISTINCT m.*, NULL AS bm25, NULL AS snippet FROM memory_files f JOIN memories m ON m.seq = f.memory_seq
          WHERE (f.path IN (SELECT value FROM json_each(?)) OR ${ranges.join(" OR ")}) AND ${filters.where.join(" AND ")}
          ORDER BY m.importance DESC, m.updated_at DESC LIMIT ${CANDIDATES}`,
    args: [JSON.stringify([...exact]), ...rangeArgs, ...filters.args],
  };
}

function textCandidates(match: string, filters: Filters) {
  return {
    sql: `SELECT m.*, -fts.rank AS bm25, snippet(memories_fts, 2, '', '', '…', 24) AS snippet
          FROM memories_fts fts JOIN memories m ON m.seq = fts.rowid
          WHERE memories_fts MATCH ? AND ${filters.where.join(" AND ")}
          ORDER BY fts.rank LIMIT ${CANDIDATES}`,
    args: [match, ...filters.args],
  };
}

function browseCandidates(filters: Filters) {
  return {
    sql: `SELECT m.*, NULL AS bm25, NULL AS snippet FROM memories m WHERE ${filters.where.join(" AND ")}
          ORDER BY m.importance DESC, m.updated_at DESC LIMIT ${CANDIDATES}`,
    args: filters.args,
  };
}

function fileSignal(stored: string[], queried: string[]): number {
  let best = 0;
  for (const q of queried) {
    for (const s of stored) {
      if (s === q) return 1;
      const sDir = s.replace(/\/+$/, "");
      const qDir = q.replace(/\/+$/, "");
      if (q.startsWith(`${sDir}/`) || s.startsWith(`${qDir}/`)) best = Math.max(best, 0.6);
    }
  }
  return best;
}

function parseList(value: unknown): string[] {
  try {
    const parsed = JSON.parse(String(value ?? "[]"));
    return Array.isArray(parsed) ? parsed.map(String) : [];
  } catch {
    return [];
  }
}

function plainSnippet(content: string): string {
  const flat = content.replace(/\s+/g, " ").trim();
  return flat.length > SNIPPET_CHARS ? `${flat.slice(0, SNIPPET_CHARS - 1)}…` : flat;
}

const round = (value: number) => Math.round(value * 1000) / 1000;

/**
 * Search memories: candidates from the full-text index (BM25, title > tags >
 * content) and from file paths, filtered in SQL, then re-ranked in one pass
 * combining text relevance with file match, recency, importance and use.
 * Any text is accepted: it is reduced to quoted tokens (see `fts-query`).
 */
export async function recall(db: Database, input: RecallInput, now = Date.now()): Promise<RecallResult> {
  const filters = buildFilters(input);
  const files = normalizeFiles(input.files);
  const match = input.query ? ftsQuery(input.query) : null;
  const unsearchable = Boolean(input.query?.trim()) && match === null;
  if (unsearchable && files.length === 0) {
    return { hits: [], note: "the query has no searchable words (only punctuation, symbols or emoji)" };
  }

  const statements = [];
  if (match) statements.push(textCandidates(match, filters));
  if (files.length > 0) statements.push(fileCandidates(files, filters));
  if (statements.length === 0) statements.push(browseCandidates(filters));
  const single = statements.length === 1 ? statements[0] : undefined;
  const results = single ? [await db.execute(single, "read")] : await db.batch(statements, "read");

  const byId = new Map<string, Row>();
  for (const result of results) {
    for (const row of result.rows) {
      const existing = byId.get(String(row.id));
      // Keep the full-text row when both sources found a memory: it carries bm25 and the snippet.
      if (!existing || (existing.bm25 == null && row.bm25 != null)) byId.set(String(row.id), row);
    }
  }
  const rows = [...byId.values()];
  const maxBm25 = Math.max(0, ...rows.map((row) => Number(row.bm25 ?? 0)));
  const maxUse = Math.max(0, ...rows.map((row) => Number(row.access_count ?? 0)));

  const hits = rows.map((row): RecallHit => {
    const rowFiles = parseList(row.files);
    const signals: SignalBreakdown = {
      text: maxBm25 > 0 ? Number(row.bm25 ?? 0) / maxBm25 : 0,
      file: files.length > 0 ? fileSignal(rowFiles, files) : 0,
      recency: Math.exp(-Math.max(0, now - Number(row.updated_at)) / (RECENCY_DAYS * DAY_MS)),
      importance: (Number(row.importance) - 1) / 4,
      use: maxUse > 0 ? Math.log1p(Number(row.access_count ?? 0)) / Math.log1p(maxUse) : 0,
    };
    const score =
      signals.text * WEIGHTS.text +
      signals.file * WEIGHTS.file +
      signals.recency * WEIGHTS.recency +
      signals.importance * WEIGHTS.importance +
      signals.use * WEIGHTS.use;
    const content = String(row.content);
    return {
      id: String(row.id),
      project: String(row.project),
      kind: row.kind as MemoryKind,
      title: row.title == null ? null : String(row.title),
      snippet: row.snippet ? String(row.snippet) : plainSnippet(content),
      score: round(score),
      tags: parseList(row.tags),
      files: rowFiles,
      importance: Number(row.importance),
      status: row.status as MemoryStatus,
      createdAt: new Date(Number(row.created_at)).toISOString(),
      updatedAt: new Date(Number(row.updated_at)).toISOString(),
      ...(input.explain && {
        explain: {
          signals: {
            text: round(signals.text),
            file: round(signals.file),
            recency: round(signals.recency),
            importance: round(signals.importance),
            use: round(signals.use),
          },
          weights: WEIGHTS,
        },
      }),
    };
  });
  hits.sort((a, b) => b.score - a.score || b.updatedAt.localeCompare(a.updatedAt));
  return {
    hits: hits.slice(0, input.limit ?? 10),
    ...(unsearchable && { note: "the query text has no searchable words; matched by file paths only" }),
  };
}

/** Count a read: recall and get feed the "use" signal. */
export async function recordAccess(db: Database, ids: string[], now = Date.now()): Promise<void> {
  if (ids.length === 0) return;
  await db.execute(
    {
      sql: `UPDATE memories SET access_count = access_count + 1, accessed_at = ? WHERE id IN (${placeholders(ids.length)})`,
      args: [now, ...ids],
    },
    "write",
  );
}

export interface SimilarMemory {
  id: string;
  title: string | null;
  snippet: string;
}

/** The statement finding up to three active memories in `project` most like `text`, or null when it has no words. */
export function similarStatement(project: string, text: string) {
  const match = ftsQuery(text);
  if (!match) return null;
  return {
    sql: `SELECT m.id, m.title, snippet(memories_fts, 2, '', '', '…', 16) AS snippet
          FROM memories_fts fts JOIN memories m ON m.seq = fts.rowid
          WHERE memories_fts MATCH ? AND m.project = ? AND m.status = 'active'
          ORDER BY fts.rank LIMIT 3`,
    args: [match, project],
  };
}

export function rowToSimilar(row: Row): SimilarMemory {
  return {
    id: String(row.id),
    title: row.title == null ? null : String(row.title),
    snippet: String(row.snippet ?? ""),
  };
}
