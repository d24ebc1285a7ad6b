import type { InStatement } from "@libsql/client/web";
import type { Database } from "../db/client";
import { distinctWords, ftsTerm, searchTokens } from "./fts-query";
import {
  clip,
  DEFAULT_PROJECT,
  type Memory,
  type MemoryKind,
  type MemoryStatus,
  normalizeFiles,
  normalizeTags,
  type Row,
  rowToMemory,
} from "./model";
import {
  contextScores,
  fileSignal,
  idealBm25,
  RELEVANCE_FLOOR,
  type SignalBreakdown,
  standingSignals,
  tieBreak,
  WEIGHTS,
} from "./recall-scoring";
import { placeholders, resultAt } from "./sql";

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

export type RecallHit = Pick<
  Memory,
  "id" | "project" | "kind" | "title" | "tags" | "files" | "importance" | "status" | "createdAt" | "updatedAt"
> & {
  /** 1 for the best hit. */
  rank: number;
  /**
   * How well the memory answers the query, 0–1, on a scale that does not
   * depend on the other hits: 1 means every query word (or file) matched.
   * Hits below `RELEVANCE_FLOOR` are not returned.
   */
  relevance: number;
  snippet: string;
  explain?: { signals: SignalBreakdown; weights: typeof WEIGHTS };
};

export interface RecallResult {
  hits: RecallHit[];
  /** Why the list is empty or partial. */
  note?: string;
  /** When nothing in the project searched matched: the other projects where the same search finds something. */
  otherProjects?: string[];
}

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
function fileCandidates(files: string[], filters: Filters): InStatement {
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

/**
 * The best text matches, and the memories saved up to two before and after
 * each of them (their conversation context, with a NULL bm25 when they do
 * not match themselves), in one statement. Every step is driven by the
 * matches, so its cost follows the number of matches, never the size of the
 * project:
 * - `CROSS JOIN` keeps the full-text index as the outer loop. Without it,
 *   SQLite 3.51 drives the join from the (project, status) index and runs
 *   the match once per memory of the project (44 s at 100,000 memories, where
 *   libSQL 3.45 picked the index and took 19 ms): the plan must not depend on
 *   the engine's version.
 * - `hits` is `MATERIALIZED`, so the match runs once and not again for the
 *   neighbours' `NOT IN`.
 * - The neighbours are looked up by their sequence numbers; the earlier form
 *   (`m.seq IN (…)` over the filtered memories) visited every active memory
 *   of the project: 56 ms against 23 ms for the whole statement at 100,000.
 */
function textCandidates(match: string, filters: Filters): InStatement {
  const where = filters.where.join(" AND ");
  return {
    sql: `WITH hits AS MATERIALIZED (
            SELECT fts.rowid AS seq, -fts.rank AS bm25, snippet(memories_fts, 2, '', '', '…', 24) AS snippet
            FROM memories_fts fts CROSS JOIN memories m ON m.seq = fts.rowid
            WHERE memories_fts MATCH ? AND ${where}
            ORDER BY fts.rank LIMIT ${CANDIDATES}
          ),
          near AS (
            SELECT DISTINCT hits.seq + d.value AS seq FROM hits, json_each('[-2,-1,1,2]') d
            WHERE hits.seq + d.value NOT IN (SELECT seq FROM hits)
          )
          SELECT m.*, hits.bm25, hits.snippet FROM hits CROSS JOIN memories m ON m.seq = hits.seq
          UNION ALL
          SELECT m.*, NULL, NULL FROM near CROSS JOIN memories m ON m.seq = near.seq
          WHERE m.kind = 'event' AND ${where}`,
    args: [match, ...filters.args, ...filters.args],
  };
}

/** The full-text candidates statement `recall` sends for this input (its query plan is pinned by a test). */
export function textCandidatesStatement(input: RecallInput): InStatement | null {
  const tokens = input.query ? searchTokens(input.query) : [];
  return tokens.length > 0 ? textCandidates(tokens.map(ftsTerm).join(" OR "), buildFilters(input)) : null;
}

/**
 * The BM25 a memory would score if it held each query word once in a
 * body of average length: the sum of the words' IDFs, computed as FTS5's
 * `bm25()` computes them (over every indexed memory). A hit's BM25 over
 * this is how much of the query it matches, whatever the other hits are.
 */
function idfStatement(tokens: string[]): InStatement {
  const counts = tokens.map(() => "(SELECT COUNT(*) FROM memories_fts WHERE memories_fts MATCH ?)");
  return {
    sql: `SELECT (SELECT COUNT(*) FROM memories) AS total, json_array(${counts.join(", ")}) AS counts`,
    args: tokens.map(ftsTerm),
  };
}

function browseCandidates(filters: Filters): InStatement {
  return {
    sql: `SELECT m.*, NULL AS bm25, NULL AS snippet FROM memories m WHERE ${filters.where.join(" AND ")}
          ORDER BY m.importance DESC, m.updated_at DESC LIMIT ${CANDIDATES}`,
    args: filters.args,
  };
}

const round = (value: number) => Math.round(value * 1000) / 1000;

/**
 * Search memories: candidates from the full-text index (BM25 with porter
 * stemming, title > tags > content) with their conversation context, and
 * from file paths, filtered in SQL, then ranked by relevance with recency,
 * importance and use breaking ties (see docs/mcp.md, "Ranking"). Any text is
 * accepted: it is reduced to quoted tokens (see `fts-query`).
 */
export async function recall(db: Database, input: RecallInput, now = Date.now()): Promise<RecallResult> {
  const filters = buildFilters(input);
  const files = normalizeFiles(input.files);
  const tokens = input.query ? searchTokens(input.query) : [];
  const unsearchable = Boolean(input.query?.trim()) && tokens.length === 0;
  if (unsearchable && files.length === 0) {
    return {
      hits: [],
      note: "the query has no searchable words (only punctuation, symbols, emoji or common words like 'the' and 'what')",
    };
  }

  const statements: InStatement[] = [];
  if (tokens.length > 0)
    statements.push(textCandidates(tokens.map(ftsTerm).join(" OR "), filters), idfStatement(tokens));
  if (files.length > 0) statements.push(fileCandidates(files, filters));
  if (statements.length === 0) statements.push(browseCandidates(filters));
  const single = statements.length === 1 ? statements[0] : undefined;
  const results = single ? [await db.execute(single, "read")] : await db.batch(statements, "read");
  const ideal = tokens.length > 0 ? idealBm25(resultAt(results, 1).rows[0]) : 0;

  const bySeq = new Map<number, Row>();
  for (const result of results.filter((_, index) => tokens.length === 0 || index !== 1)) {
    for (const row of result.rows) {
      const existing = bySeq.get(Number(row.seq));
      // Keep the full-text row when both sources found a memory: it carries bm25 and the snippet.
      if (!existing || (existing.bm25 == null && row.bm25 != null)) bySeq.set(Number(row.seq), row);
    }
  }
  const rows = [...bySeq.values()];
  const context = contextScores(rows);

  const scored = rows.map((row) => {
    const memory = rowToMemory(row);
    const own = ideal > 0 ? Math.min(1, Number(row.bm25 ?? 0) / ideal) : 0;
    const lent = ideal > 0 ? Math.min(1 - own, (context.get(Number(row.seq)) ?? 0) / ideal) : 0;
    const file = files.length > 0 ? fileSignal(memory.files, files) : 0;
    const text = own + lent;
    const relevance =
      tokens.length > 0 && files.length > 0
        ? text * WEIGHTS.text + file * WEIGHTS.file
        : tokens.length > 0
          ? text
          : files.length > 0
            ? file
            : 1;
    const signals: SignalBreakdown = {
      text: own,
      context: lent,
      file,
      ...standingSignals(
        { importance: memory.importance, accessCount: memory.accessCount, updatedAt: Number(row.updated_at) },
        now,
      ),
    };
    const snippet = row.snippet ? String(row.snippet) : clip(memory.content, SNIPPET_CHARS);
    return { memory, relevance, score: relevance + tieBreak(signals), signals, snippet };
  });
  const ranked = scored
    .filter((hit) => hit.relevance >= RELEVANCE_FLOOR)
    .sort((a, b) => b.score - a.score || b.memory.updatedAt.localeCompare(a.memory.updatedAt))
    .slice(0, input.limit ?? 10);

  const hits = ranked.map(({ memory, relevance, signals, snippet }, index): RecallHit => {
    const { id, project, kind, title, tags, files: memoryFiles, importance, status, createdAt, updatedAt } = memory;
    return {
      id,
      project,
      kind,
      title,
      tags,
      files: memoryFiles,
      importance,
      status,
      createdAt,
      updatedAt,
      rank: index + 1,
      relevance: round(relevance),
      snippet,
      ...(input.explain && {
        explain: {
          signals: {
            text: round(signals.text),
            context: round(signals.context),
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
  if (hits.length === 0 && !input.allProjects && (tokens.length > 0 || files.length > 0)) {
    return { hits, otherProjects: await projectsWithMatches(db, input) };
  }
  return { hits, ...(unsearchable && { note: "the query has no searchable words; matched by file paths only" }) };
}

/** Projects other than the one searched where the same search finds something relevant. */
async function projectsWithMatches(db: Database, input: RecallInput): Promise<string[]> {
  const project = input.project ?? DEFAULT_PROJECT;
  const elsewhere = await recall(db, { ...input, allProjects: true, limit: 20, explain: false });
  return [...new Set(elsewhere.hits.map((hit) => hit.project))].filter((slug) => slug !== project);
}

/** The statement counting a use of each memory: `get` and citing one do; being returned by `recall` does not. */
export function accessStatement(ids: string[], now: number): InStatement {
  return {
    sql: `UPDATE memories SET access_count = access_count + 1, accessed_at = ? WHERE id IN (${placeholders(ids.length)})`,
    args: [now, ...ids],
  };
}

export interface SimilarMemory {
  id: string;
  title: string | null;
  snippet: string;
}

/**
 * How many of the most recent memories sharing a word with a new one are
 * looked at for "similar". Ranking every memory that shares a word by BM25
 * made a save cost grow with the tenant: an OR of a 40-word text matches a
 * large share of the corpus, and BM25 reads each word's whole posting list
 * for its weight (63 ms per item at 100k memories against 3 ms at 1k, with
 * EXPLAIN QUERY PLAN showing the full scan). FTS5 walks its index in rowid
 * order and stops at the cap; these candidates are then ordered by how many
 * of the new text's words they contain, which is what closeness (Jaccard)
 * counts, so the cost no longer depends on the corpus. The trade-off: a
 * near-duplicate older than this many newer word-sharing memories is not
 * mentioned; near-duplicates an agent writes are nearly always recent.
 */
const SIMILAR_CANDIDATES = 200;

/**
 * Candidates for "similar" to a memory being saved: the recent memories of
 * its project containing most of its words, with their content, so
 * `closeMatches` can keep only the really close ones. Null when the text
 * has no words.
 */
export function similarStatement(project: string, text: string): InStatement | null {
  const tokens = searchTokens(text);
  if (tokens.length === 0) return null;
  // Substring presence is a cheap stand-in for "contains the word" that only orders candidates;
  // closeMatches applies the exact word test.
  const shared = tokens.map(() => "(instr(text, ?) > 0)").join(" + ");
  return {
    // `+m.project`/`+m.status` keep the planner on the candidates' rowids instead of the
    // (project, status) index, which would visit every active memory of the project.
    sql: `WITH candidates AS MATERIALIZED (
            SELECT m.seq, m.id, m.title, m.content, lower(coalesce(m.title, '') || ' ' || m.content) AS text
            FROM (SELECT rowid FROM memories_fts WHERE memories_fts MATCH ?
                  ORDER BY rowid DESC LIMIT ${SIMILAR_CANDIDATES}) c
            JOIN memories m ON m.seq = c.rowid
            WHERE +m.project = ? AND +m.status = 'active')
          SELECT id, title, content FROM candidates ORDER BY ${shared} DESC, seq DESC LIMIT 5`,
    args: [tokens.map(ftsTerm).join(" OR "), project, ...tokens],
  };
}

/**
 * Memories count as similar only when really close: they share at least
 * half of their distinct words with the new text (Jaccard ≥ 0.5, stopwords
 * left out). Sharing a topic word or two is not enough: agents are told to
 * update or supersede similar memories, and a loose match invites wrong merges.
 */
export const SIMILARITY_MIN = 0.5;

export function closeMatches(text: string, rows: Row[]): SimilarMemory[] {
  const words = new Set(distinctWords(text));
  return rows
    .map((row) => {
      const theirs = new Set(distinctWords(`${row.title ?? ""} ${row.content}`));
      const shared = [...theirs].filter((word) => words.has(word)).length;
      const union = words.size + theirs.size - shared;
      return { row, jaccard: union === 0 ? 0 : shared / union };
    })
    .filter(({ jaccard }) => jaccard >= SIMILARITY_MIN)
    .slice(0, 3)
    .map(({ row }) => ({
      id: String(row.id),
      title: row.title == null ? null : String(row.title),
      snippet: clip(String(row.content), 160),
    }));
}
