import type { InStatement } from "@libsql/client/web";
import { isoFromMillisOrNull } from "../db/row-values";
import { BM25_RANK, ftsTerm, projectKey, TEXT_COLUMNS } from "./fts-query";
import { type Memory, memoryFieldsOf, type Row } from "./model";

/**
 * The full-text candidates of `recall` (`recall.ts`): one statement per
 * search, in two forms. Searching one project, every statistic BM25 reads
 * — how many memories there are, how many hold each word, which words are
 * common — is that project's, so its ranking does not depend on what else
 * the tenant keeps (`projectTextCandidates`). Searching every project, they
 * are the tenant's (`tenantTextCandidates`).
 */

/** SQL conditions on `m` (the memories table) and their arguments; `project` when they hold to one project. */
export interface Filters {
  where: string[];
  args: (string | number)[];
  project?: string;
}

/**
 * The memory columns a candidate row carries: what ranking, the levers and
 * the hits returned read (`candidateOf`), not `m.*`. A hundred
 * candidates with every column were about a quarter bigger (the content hash,
 * the issue and version fields), all of it parsed and built into rows by the
 * Worker for nothing (docs/benchmarks/2026-12-07-tool-cpu.md).
 */
export const CANDIDATE_COLUMNS =
  "m.seq, m.id, m.project, m.kind, m.title, m.content, m.tags, m.files, m.importance, m.status, " +
  "m.created_at, m.updated_at, m.access_count, m.written_by";

/** The fields of a memory recall ranks and answers with: what `CANDIDATE_COLUMNS` selects. */
type Candidate = Pick<
  Memory,
  | "id"
  | "project"
  | "kind"
  | "title"
  | "content"
  | "tags"
  | "files"
  | "importance"
  | "status"
  | "createdAt"
  | "updatedAt"
  | "accessCount"
>;

/** A candidate row as a memory, each column converted as `rowToMemory` converts it. */
export function candidateOf(row: Row): Candidate {
  return {
    ...memoryFieldsOf(row),
    createdAt: isoFromMillisOrNull(row.created_at) as string,
    updatedAt: isoFromMillisOrNull(row.updated_at) as string,
    accessCount: Number(row.access_count ?? 0),
  };
}

/** How many candidates each source contributes before re-ranking. */
export const CANDIDATES = 100;

/**
 * A query word in at least this many memories, and in at least
 * `COMMON_WORD_SHARE` of them, is common: `textCandidates` finds candidates
 * without scoring the memories that hold only common words, when that is
 * provably exact. Below these sizes scoring every match is cheap and one
 * statement is always enough.
 */
export const COMMON_WORD_MEMORIES = 2000;
const COMMON_WORD_SHARE = 0.05;

/**
 * The best text matches, and the memories saved up to two before and after
 * each of them (their conversation context, with a NULL bm25 when they do
 * not match themselves), in one statement, with every row also carrying the
 * memory count, each word's match count (`total`, `counts`: the IDFs) and
 * which words counted as common (`common_words`, 0 or 1 per word).
 *
 * BM25 scores every memory holding any query word, so the cost follows the
 * most common word's matches: "deploy" in a tenth of 100,000 memories is
 * 10,000 scores for the 100 kept. When some words are common (see
 * `COMMON_WORD_MEMORIES`) and others are not, the statement scores only the
 * memories holding a rare word, each with its full BM25: FTS5 scores the
 * words of its expression, so `(rare) AND (common)` scores the memories with
 * both exactly, and `rare` alone those without a common word; the larger of
 * the two is the memory's score. That is exact only if no memory holding
 * common words alone could rank among the kept ones; `recall` checks it
 * (`skippedCannotCompete`) and asks again without skipping when not. When
 * fewer than `CANDIDATES` rare-word memories pass the filters the statement
 * itself falls back to scoring everything (the second branch of `hits`).
 *
 * Every step is driven by the matches, so the cost never follows the size of
 * the project:
 * - `CROSS JOIN` keeps the full-text index as the outer loop. Without it,
 *   SQLite 3.51 drives the join from the (project, status) index and runs
 *   the match once per memory of the project (44 s at 100,000 memories, where
 *   libSQL 3.45 picked the index and took 19 ms): the plan must not depend on
 *   the engine's version.
 * - A branch not taken is given the MATCH expression `""`, which matches
 *   nothing at the cost of one index lookup: a condition beside the MATCH
 *   would be checked row by row, after FTS5 had scored every match.
 * - The neighbours are looked up by their sequence numbers; the earlier form
 *   (`m.seq IN (…)` over the filtered memories) visited every active memory
 *   of the project: 56 ms against 23 ms for the whole statement at 100,000.
 *
 * This form searches every project, with the tenant's statistics; a search
 * in one project is `projectTextCandidates`.
 */
function tenantTextCandidates(tokens: string[], filters: Filters, commonFrom: number): InStatement {
  const where = filters.where.join(" AND ");
  const terms = tokens.map(ftsTerm);
  return {
    sql: `WITH terms AS MATERIALIZED (
            SELECT j.key AS pos, j.value AS term,
                   (SELECT COUNT(*) FROM memories_fts WHERE memories_fts MATCH '${TEXT_COLUMNS}: ' || j.value) AS docs
            FROM json_each(?) j
          ),
          stats AS MATERIALIZED (
            SELECT (SELECT COUNT(*) FROM memories) AS total,
                   (SELECT json_group_array(docs) FROM (SELECT docs FROM terms ORDER BY pos)) AS counts
          ),
          split AS MATERIALIZED (
            SELECT (SELECT group_concat(term, ' OR ') FROM terms WHERE docs < threshold) AS rare,
                   (SELECT group_concat(term, ' OR ') FROM terms WHERE docs >= threshold) AS common,
                   (SELECT group_concat(term, ' OR ') FROM terms) AS every,
                   (SELECT json_group_array(docs >= threshold) FROM (SELECT docs FROM terms ORDER BY pos)) AS common_words
            FROM (SELECT max(?, total * ?) AS threshold FROM stats)
          ),
          scored AS (
            SELECT rowid AS seq, ${BM25_RANK} AS b FROM memories_fts
            WHERE memories_fts MATCH (
              SELECT coalesce('${TEXT_COLUMNS}: ((' || rare || ') AND (' || common || '))', '""') FROM split
            )
            UNION ALL
            SELECT rowid, ${BM25_RANK} FROM memories_fts
            WHERE memories_fts MATCH (
              SELECT CASE WHEN common IS NULL THEN '""' ELSE coalesce('${TEXT_COLUMNS}: (' || rare || ')', '""') END FROM split
            )
          ),
          pruned AS MATERIALIZED (
            SELECT best.seq, -best.b AS bm25 FROM (SELECT seq, min(b) AS b FROM scored GROUP BY seq) best
            CROSS JOIN memories m ON m.seq = best.seq
            WHERE ${where} ORDER BY best.b LIMIT ${CANDIDATES}
          ),
          hits AS MATERIALIZED (
            SELECT seq, bm25, 1 AS pruned FROM pruned WHERE (SELECT COUNT(*) FROM pruned) = ${CANDIDATES}
            UNION ALL
            SELECT * FROM (
              SELECT fts.rowid AS seq, -fts.rank AS bm25, 0 AS pruned
              FROM memories_fts fts CROSS JOIN memories m ON m.seq = fts.rowid
              WHERE memories_fts MATCH (
                  SELECT CASE WHEN (SELECT COUNT(*) FROM pruned) < ${CANDIDATES} THEN '${TEXT_COLUMNS}: (' || every || ')' ELSE '""' END FROM split
                ) AND ${where}
              ORDER BY fts.rank LIMIT ${CANDIDATES}
            )
          ),
          near AS (
            SELECT DISTINCT hits.seq + d.value AS seq FROM hits, json_each('[-2,-1,1,2]') d
            WHERE hits.seq + d.value NOT IN (SELECT seq FROM hits)
          )
          SELECT ${CANDIDATE_COLUMNS}, hits.bm25, hits.pruned, stats.total, stats.counts, split.common_words
          FROM hits CROSS JOIN memories m ON m.seq = hits.seq CROSS JOIN stats CROSS JOIN split
          UNION ALL
          SELECT ${CANDIDATE_COLUMNS}, NULL, NULL, stats.total, stats.counts, split.common_words
          FROM near CROSS JOIN memories m ON m.seq = near.seq CROSS JOIN stats CROSS JOIN split
          WHERE m.kind = 'event' AND ${where}`,
    args: [
      JSON.stringify(terms),
      Number.isFinite(commonFrom) ? commonFrom : Number.MAX_SAFE_INTEGER,
      COMMON_WORD_SHARE,
      ...filters.args,
      ...filters.args,
      ...filters.args,
    ],
  };
}

/**
 * The best text matches in one project, with their conversation context, as
 * `tenantTextCandidates` finds them, but ranked by BM25 over the project:
 * the memory count, each word's count and the common-word threshold are the
 * project's, and the index itself keeps the search to the project's memories
 * (`project_key`, tenant migration 0005), so another project's size changes
 * neither the order nor the cost.
 *
 * FTS5's `bm25()` takes its IDFs from the whole index, and a memory's BM25
 * is a sum over the query's words, each word's IDF times a part that depends
 * on the memory only. So each word is scored on its own (one MATCH per word,
 * weighed 0 on the project key) and its score multiplied by the ratio of the
 * project's IDF to the index's: the sum is the memory's BM25 over the
 * project. (The length normalisation still uses the index's average memory
 * length, a second-order term.) The project's IDF is the form that never
 * reaches 0, ln(1 + (N − n + 0.5)/(n + 0.5)) (rows say `idf_form` 'plus'):
 * FTS5's own form is 0 for a word in half of the memories or more, which in
 * a project of two memories would make either one unfindable.
 *
 * Skipping memories that hold only common words works as in the tenant form:
 * rare words are scored over the project; a common word only on memories
 * holding a rare word, as `word AND (rare)` less the rare words' own scores
 * (FTS5 adds the words of an expression, so the difference is the common
 * word's); the same `skippedCannotCompete` check applies, with the
 * project's IDFs. Fewer than `CANDIDATES` such memories: every word over the
 * project (the second branch of `hits`).
 */
function projectTextCandidates(tokens: string[], filters: Filters & { project: string }, commonFrom: number) {
  const where = filters.where.join(" AND ");
  const key = projectKey(filters.project);
  // One word over the project: the MATCH expression of a word (`term`) and the project key.
  const word = (term: string) => `'${TEXT_COLUMNS}: ' || ${term} || ' AND project_key: ${key}'`;
  return {
    sql: `WITH terms AS MATERIALIZED (
            SELECT j.key AS pos, j.value AS term,
                   (SELECT COUNT(*) FROM memories_fts WHERE memories_fts MATCH '${TEXT_COLUMNS}: ' || j.value) AS docs_all,
                   (SELECT COUNT(*) FROM memories_fts WHERE memories_fts MATCH ${word("j.value")}) AS docs
            FROM json_each(?) j
          ),
          stats AS MATERIALIZED (
            SELECT (SELECT COUNT(*) FROM memories) AS total_all,
                   (SELECT COUNT(*) FROM memories_fts WHERE memories_fts MATCH 'project_key: ${key}') AS total,
                   (SELECT json_group_array(docs) FROM (SELECT docs FROM terms ORDER BY pos)) AS counts
          ),
          split AS MATERIALIZED (
            SELECT threshold,
                   (SELECT group_concat(term, ' OR ') FROM terms WHERE docs < threshold) AS rare,
                   (SELECT COUNT(*) FROM terms WHERE docs >= threshold) AS commons,
                   (SELECT json_group_array(docs >= threshold) FROM (SELECT docs FROM terms ORDER BY pos)) AS common_words
            FROM (SELECT max(?, total * ?) AS threshold FROM stats)
          ),
          weights AS MATERIALIZED (
            SELECT t.term, t.docs >= split.threshold AS common,
                   ln(1 + (stats.total - t.docs + 0.5) / (t.docs + 0.5))
                     / max(1e-6, ln((stats.total_all - t.docs_all + 0.5) / (t.docs_all + 0.5))) AS ratio,
                   -- What the skipping pass matches for the word: a rare word everywhere in the project,
                   -- a common one only beside a rare word (nothing when there is none).
                   CASE WHEN t.docs < split.threshold THEN ${word("t.term")}
                        WHEN split.rare IS NULL THEN '""'
                        ELSE '${TEXT_COLUMNS}: (' || t.term || ') AND ${TEXT_COLUMNS}: (' || split.rare
                             || ') AND project_key: ${key}'
                   END AS skipping,
                   ${word("t.term")} AS everywhere
            FROM terms t CROSS JOIN stats CROSS JOIN split
          ),
          per_word AS MATERIALIZED (
            SELECT memories_fts.rowid AS seq, w.common, w.ratio, -${BM25_RANK} AS b
            FROM weights w CROSS JOIN memories_fts WHERE memories_fts MATCH w.skipping
          ),
          rare_sums AS (SELECT seq, sum(b) AS b FROM per_word WHERE NOT common GROUP BY seq),
          scored AS (
            SELECT p.seq, sum(p.ratio * CASE WHEN p.common THEN p.b - coalesce(r.b, 0) ELSE p.b END) AS bm25
            FROM per_word p LEFT JOIN rare_sums r ON r.seq = p.seq GROUP BY p.seq
          ),
          pruned AS MATERIALIZED (
            SELECT s.seq, s.bm25 FROM scored s CROSS JOIN memories m ON m.seq = s.seq
            WHERE ${where} ORDER BY s.bm25 DESC LIMIT ${CANDIDATES}
          ),
          -- Whether the skipping pass left too few: then every word is scored over the project.
          fallback AS MATERIALIZED (
            SELECT (SELECT commons FROM split) > 0 AND (SELECT COUNT(*) FROM pruned) < ${CANDIDATES} AS used
          ),
          every_word AS MATERIALIZED (
            SELECT memories_fts.rowid AS seq, w.ratio * -${BM25_RANK} AS b
            FROM fallback CROSS JOIN weights w CROSS JOIN memories_fts
            WHERE memories_fts MATCH (CASE WHEN fallback.used THEN w.everywhere ELSE '""' END)
          ),
          hits AS MATERIALIZED (
            SELECT seq, bm25, (SELECT commons FROM split) > 0 AS pruned FROM pruned
            WHERE (SELECT COUNT(*) FROM pruned) = ${CANDIDATES} OR (SELECT commons FROM split) = 0
            UNION ALL
            SELECT * FROM (
              SELECT e.seq, e.bm25, 0 AS pruned
              FROM (SELECT seq, sum(b) AS bm25 FROM every_word GROUP BY seq) e CROSS JOIN memories m ON m.seq = e.seq
              WHERE ${where} ORDER BY e.bm25 DESC LIMIT ${CANDIDATES}
            )
          ),
          near AS (
            SELECT DISTINCT hits.seq + d.value AS seq FROM hits, json_each('[-2,-1,1,2]') d
            WHERE hits.seq + d.value NOT IN (SELECT seq FROM hits)
          )
          SELECT ${CANDIDATE_COLUMNS}, hits.bm25, hits.pruned, stats.total, stats.counts, split.common_words, 'plus' AS idf_form
          FROM hits CROSS JOIN memories m ON m.seq = hits.seq CROSS JOIN stats CROSS JOIN split
          UNION ALL
          SELECT ${CANDIDATE_COLUMNS}, NULL, NULL, stats.total, stats.counts, split.common_words, 'plus'
          FROM near CROSS JOIN memories m ON m.seq = near.seq CROSS JOIN stats CROSS JOIN split
          WHERE m.kind = 'event' AND ${where}`,
    args: [
      JSON.stringify(tokens.map(ftsTerm)),
      Number.isFinite(commonFrom) ? commonFrom : Number.MAX_SAFE_INTEGER,
      COMMON_WORD_SHARE,
      ...filters.args,
      ...filters.args,
      ...filters.args,
    ],
  };
}

/**
 * The text candidates statement for `tokens` under `filters`: over the
 * project when the filters hold to one, else over the tenant.
 * `commonFrom` overrides the common-word threshold (Infinity: never skip).
 */
export function textCandidates(tokens: string[], filters: Filters, commonFrom = COMMON_WORD_MEMORIES): InStatement {
  return filters.project === undefined
    ? tenantTextCandidates(tokens, filters, commonFrom)
    : projectTextCandidates(tokens, { ...filters, project: filters.project }, commonFrom);
}
