import type { InStatement } from "@libsql/client/web";
import type { Database } from "../db/client";
import { describeAttribution, parseAttribution } from "./attribution";
import { searchTokens } from "./fts-query";
import {
  clip,
  DEFAULT_PROJECT,
  type Memory,
  type MemoryKind,
  type MemoryStatus,
  normalizeFiles,
  normalizeTags,
  type Row,
} from "./model";
import {
  CANDIDATE_COLUMNS,
  CANDIDATES,
  COMMON_WORD_MEMORIES,
  candidateOf,
  type Filters,
  textCandidates,
} from "./recall-candidates";
import { addLevers, DEFAULT_TUNING, type RecallTuning } from "./recall-levers";
import {
  contextScores,
  fileSignal,
  idealBm25,
  RELEVANCE_FLOOR,
  type SignalBreakdown,
  skippedCannotCompete,
  standingSignals,
  tieBreak,
  WEIGHTS,
} from "./recall-scoring";
import { snippetOf } from "./snippet";
import { placeholders, resultAt } from "./sql";

export interface RecallInput {
  query?: string;
  files?: string[];
  kinds?: MemoryKind[];
  tags?: string[];
  tagMode?: "any" | "all";
  /** Search only this project; without it (or with `allProjects`) every project is searched. */
  project?: string;
  /** Kept for older clients: search every project even when `project` is given (then ranked first). */
  allProjects?: boolean;
  /**
   * The project the caller works in, when every project is searched: its
   * memories rank first. Without it, the project of the latest open work
   * session (started within `OPEN_SESSION_MS`) is taken.
   */
  currentProject?: string;
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
  /**
   * Who wrote the current version, in a few words (`describeAttribution`:
   * "key “laptop” via claude-code 2.1.0"); absent before attribution. The
   * member's name is left to `get` and the console: naming them would cost a
   * management-DB read on every recall.
   */
  by?: string;
  explain?: {
    signals: SignalBreakdown & { current_project?: number };
    /** `WEIGHTS`, and what a full phrase and time signal add to the ranking score (scaled by the text's share). */
    weights: typeof WEIGHTS & { phrase: number; time: number };
  };
};

export interface RecallResult {
  hits: RecallHit[];
  /** Why the list is empty or partial. */
  note?: string;
  /** When nothing in the project searched matched: the other projects where the same search finds something. */
  otherProjects?: string[];
  /** The project ranked first when every project was searched (given, or the open work session's). */
  currentProject?: string;
}

/** How long an open work session names the caller's current project, when the caller does not. */
const OPEN_SESSION_MS = 24 * 60 * 60 * 1000;

const SNIPPET_CHARS = 240;

/** Whether `input` searches one project only (the one it names). */
const oneProject = (input: RecallInput) => input.project !== undefined && !input.allProjects;

function buildFilters(
  input: RecallInput,
  project: string | undefined = oneProject(input) ? input.project : undefined,
): Filters {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (project !== undefined) {
    where.push("m.project = ?");
    args.push(project);
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
  return { where, args, ...(project !== undefined && { project }) };
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
    sql: `SELECT DISTINCT ${CANDIDATE_COLUMNS}, NULL AS bm25 FROM memory_files f JOIN memories m ON m.seq = f.memory_seq
          WHERE (f.path IN (SELECT value FROM json_each(?)) OR ${ranges.join(" OR ")}) AND ${filters.where.join(" AND ")}
          ORDER BY m.importance DESC, m.updated_at DESC LIMIT ${CANDIDATES}`,
    args: [JSON.stringify([...exact]), ...rangeArgs, ...filters.args],
  };
}

/** The full-text candidates statement `recall` sends for this input (its query plan is pinned by a test). */
export function textCandidatesStatement(input: RecallInput, commonFrom?: number): InStatement | null {
  const tokens = input.query ? searchTokens(input.query) : [];
  return tokens.length > 0 ? textCandidates(tokens, buildFilters(input), commonFrom) : null;
}

function browseCandidates(filters: Filters): InStatement {
  return {
    sql: `SELECT ${CANDIDATE_COLUMNS}, NULL AS bm25 FROM memories m WHERE ${filters.where.join(" AND ")}
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
export async function recall(
  db: Database,
  input: RecallInput,
  now = Date.now(),
  /** The common-word threshold of `textCandidates`; tests lower it to exercise skipping on a small corpus. */
  commonFrom = COMMON_WORD_MEMORIES,
  /** The levers' parameters (`recall-levers.ts`); only the benchmark changes them. */
  tuningOverride: Partial<RecallTuning> = {},
): Promise<RecallResult> {
  const tuning = { ...DEFAULT_TUNING, ...tuningOverride };
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

  // Searching every project, the current one's candidates are looked up on their own too: among the
  // tenant's best 100 a small project's could be crowded out, and they rank first.
  const named = oneProject(input)
    ? undefined
    : (input.currentProject ?? (input.allProjects ? input.project : undefined));
  // Named by no one, the current project is the open work session's: read in the same round trip as the
  // tenant-wide candidates (which do not depend on it), the project's own sent after only when one is open.
  const lookUp = !oneProject(input) && named === undefined;
  const scopes = [filters];
  if (named !== undefined) scopes.push(buildFilters(input, named));
  const scopeStatements = (scope: Filters) => {
    const statements: InStatement[] = [];
    if (tokens.length > 0) statements.push(textCandidates(tokens, scope, commonFrom));
    if (files.length > 0) statements.push(fileCandidates(files, scope));
    if (tokens.length === 0 && files.length === 0) statements.push(browseCandidates(scope));
    return statements;
  };
  const statements = scopes.flatMap(scopeStatements);
  const results = await db.batch(lookUp ? [...statements, openSessionStatement(now)] : statements, "read");
  const sessionProject = lookUp ? projectOf(results.pop()) : undefined;
  const currentProject = named ?? sessionProject;
  if (sessionProject !== undefined) {
    const scope = buildFilters(input, sessionProject);
    scopes.push(scope);
    results.push(...(await db.batch(scopeStatements(scope), "read")));
  }
  const perScope = results.length / scopes.length;
  // Each scope's rows, the current project's first, so a memory both found keeps its project's statistics.
  const found = await Promise.all(
    scopes.map(async (scope, index) => {
      const own = results.slice(index * perScope, (index + 1) * perScope);
      const text = tokens.length > 0 ? await exactText(db, [...resultAt(own, 0).rows], tokens, scope) : [];
      return { text, other: own.slice(tokens.length > 0 ? 1 : 0).flatMap((result) => result.rows) };
    }),
  );
  found.reverse();
  // A text score as a share of the ideal one of its own statement (project or tenant statistics), so the
  // rows of both scopes, and the context their neighbours lend, are on one scale.
  const textRows = found.flatMap(({ text }) => text);
  const share = new Map<Row, number>();
  for (const row of textRows) {
    const ideal = idealBm25(row);
    share.set(row, ideal > 0 ? Number(row.bm25 ?? 0) / ideal : 0);
  }
  const textShare = (row: Row) => share.get(row) ?? 0;
  const otherRows = found.flatMap(({ other }) => other);

  const bySeq = new Map<number, Row>();
  for (const row of [...textRows, ...otherRows]) {
    const existing = bySeq.get(Number(row.seq));
    // Keep the full-text row when both sources found a memory: it carries bm25.
    if (!existing || (existing.bm25 == null && row.bm25 != null)) bySeq.set(Number(row.seq), row);
  }
  const rows = [...bySeq.values()];
  const context = contextScores(rows, textShare, tuning.context);

  const scored = rows.map((row) => {
    const memory = candidateOf(row);
    const own = Math.min(1, textShare(row));
    const lent = Math.min(1 - own, context.get(Number(row.seq)) ?? 0);
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
      phrase: 0,
      time: 0,
      file,
      ...standingSignals(
        { importance: memory.importance, accessCount: memory.accessCount, updatedAt: Number(row.updated_at) },
        now,
      ),
    };
    const current = currentProject === undefined ? 0 : memory.project === currentProject ? 1 : 0;
    return { memory, relevance, score: relevance + tieBreak(signals), signals, current, writtenBy: row.written_by };
  });
  const eligible = scored.filter((hit) => hit.relevance >= RELEVANCE_FLOOR);
  const limit = input.limit ?? 10;
  addLevers(
    eligible,
    tokens,
    input.query,
    limit,
    tuning,
    files.length > 0 ? WEIGHTS.text : 1,
    currentProject === undefined,
  );
  const ranked = eligible
    .sort((a, b) => b.current - a.current || b.score - a.score || b.memory.updatedAt.localeCompare(a.memory.updatedAt))
    .slice(0, limit);

  const hits = ranked.map(({ memory, relevance, signals, current, writtenBy }, index): RecallHit => {
    // Only the hits returned get a snippet, so its cost does not grow with the matches.
    const snippet =
      tokens.length > 0 ? snippetOf(memory.content, tokens, SNIPPET_CHARS) : clip(memory.content, SNIPPET_CHARS);
    const { id, project, kind, title, tags, files: memoryFiles, importance, status, createdAt, updatedAt } = memory;
    // Parsed only for the hits returned; before attribution (NULL) the field is left out.
    const attribution = parseAttribution(writtenBy);
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
      ...(attribution && { by: describeAttribution(attribution) }),
      ...(input.explain && {
        explain: {
          signals: {
            text: round(signals.text),
            context: round(signals.context),
            phrase: round(signals.phrase),
            time: signals.time,
            file: round(signals.file),
            recency: round(signals.recency),
            importance: round(signals.importance),
            use: round(signals.use),
            // 1: in the caller's current project, which ranks before every other project's hits.
            ...(currentProject !== undefined && { current_project: current }),
          },
          weights: { ...WEIGHTS, phrase: tuning.phrase, time: tuning.time },
        },
      }),
    };
  });
  if (hits.length === 0 && oneProject(input) && (tokens.length > 0 || files.length > 0)) {
    return { hits, otherProjects: await projectsWithMatches(db, input, now, commonFrom) };
  }
  return {
    hits,
    ...(currentProject !== undefined && { currentProject }),
    ...(unsearchable && { note: "the query has no searchable words; matched by file paths only" }),
  };
}

/**
 * Candidates found by skipping common words, kept only when that was provably
 * exact (see `textCandidates`); otherwise the same search again without skipping.
 */
async function exactText(db: Database, rows: Row[], tokens: string[], filters: Filters): Promise<Row[]> {
  const kept = rows.filter((row) => Number(row.pruned) === 1).map((row) => Number(row.bm25));
  if (kept.length === 0 || skippedCannotCompete(rows[0], Math.min(...kept))) return rows;
  const [again] = await db.batch([textCandidates(tokens, filters, Number.POSITIVE_INFINITY)], "read");
  return [...(again?.rows ?? [])];
}

/**
 * The project of the latest work session still open, when it started within
 * `OPEN_SESSION_MS` (a session never ended stops naming the project then).
 * Asked only when the caller names no project, in the batch of the
 * tenant-wide candidates (`projectOf` reads its answer).
 */
function openSessionStatement(now: number): InStatement {
  return {
    sql: "SELECT project FROM work_sessions WHERE ended_at IS NULL AND started_at >= ? ORDER BY started_at DESC LIMIT 1",
    args: [now - OPEN_SESSION_MS],
  };
}

function projectOf(result: { rows: Row[] } | undefined): string | undefined {
  const project = result?.rows[0]?.project;
  return project == null ? undefined : String(project);
}

/** Projects other than the one searched where the same search finds something relevant. */
async function projectsWithMatches(
  db: Database,
  input: RecallInput,
  now: number,
  commonFrom: number,
): Promise<string[]> {
  const project = input.project ?? DEFAULT_PROJECT;
  const everywhere = { ...input, project: undefined, currentProject: undefined, limit: 20, explain: false };
  const elsewhere = await recall(db, everywhere, now, commonFrom);
  return [...new Set(elsewhere.hits.map((hit) => hit.project))].filter((slug) => slug !== project);
}
