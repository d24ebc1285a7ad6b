import type { InStatement } from "@libsql/client/web";
import { distinctWords, ftsWord, inProject, searchTokens } from "./fts-query";
import { clip, type Row } from "./model";

/**
 * "Similar memories" for `remember`: when a new memory reads like ones the
 * project already holds, the answer names them so the agent can update one
 * instead of piling up near-duplicates. A lookup of its own, apart from
 * `recall`'s ranking: it runs inside every write, so it is bounded by a
 * fixed number of candidates however large the project grows.
 */

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
 *
 * 100, not the 200 it was: ordering the candidates is most of the lookup,
 * and a profile of the local libSQL server under batches of 50 put the
 * lookup at 91% of the tenant database's statement time at 100k memories
 * (3.5 ms per lookup, 1.55 ms at 1k, where fewer than 200 memories share a
 * word). On a copy of the benchmark's 100k database: 2.9–3.0 ms per lookup
 * with 200 candidates (and prefix terms, below), 1.5–1.7 ms with 100. On
 * that corpus 100 candidates reach back about 380 memories (median over 50
 * new texts; 200 reached about 760).
 */
const SIMILAR_CANDIDATES = 100;
/**
 * How many of a new memory's words look for candidates: its longest ones
 * (long words are the specific ones). A really close memory holds most of the
 * words, so it holds some of these. Each word searched costs a pass over its
 * postings in every index segment, and that pass grows with the project:
 * with all 24 words, ten lookups on a cold connection took 36.6 ms at 1,000
 * memories and 51.1 ms at 100,000; with 8, 30.3 and 40.1 ms. Fewer words
 * also reach further back, since the most recent memories holding any of
 * them span more of the project.
 */
const SIMILAR_SEARCH_WORDS = 8;

/** The `SIMILAR_SEARCH_WORDS` longest tokens, the earlier one first among equals. */
function searchWords(tokens: string[]): string[] {
  return tokens
    .map((token, index) => ({ token, index }))
    .sort((a, b) => b.token.length - a.token.length || a.index - b.index)
    .slice(0, SIMILAR_SEARCH_WORDS)
    .map(({ token }) => token);
}

/**
 * How many candidates come back to be measured exactly (`closeMatches`).
 * More than the three it may list, because the order they come in is only an
 * estimate of closeness.
 */
const SIMILAR_MEASURED = 8;

/**
 * Candidates for "similar" to a memory being saved: the 100 most recent
 * memories of its project holding any of its longest words, ordered by how
 * many of those words they hold, with their content, so `closeMatches` can
 * measure the best few exactly. Null when the text has no words.
 *
 * Why the order counts only the searched words, not all of the text's (up
 * to 24): it is one `instr` per word and candidate over the candidate's
 * whole text, which was most of the lookup. On the benchmark's 40-word
 * memories, over 200 lookups in libSQL: 3.9 ms each with all words at 1k
 * memories (3.2 ms at 100k), 1.5–2.2 ms (1.9–2.0) with the searched 8, and
 * 0.9–1.0 ms (1.2) with no order at all. A really close memory holds at least
 * half of the new text's words, and the searched words are its most specific
 * ones, so it holds many of them and comes back among the first.
 *
 * Candidates are the project's own: the index holds each memory's project
 * key (tenant migration 0005), so another project's recent memories never
 * take the places.
 *
 * The words are searched as they are, not as prefixes (recall's "postgres"
 * meeting "PostgreSQL"): closeness is measured on exact words, so a prefix
 * adds candidates that cannot count, and a prefix term costs FTS5 a merge of
 * every term it begins, which grows with the project (2.9–3.0 ms against
 * 2.4–2.6 ms per lookup at 100k memories).
 */
export function similarStatement(project: string, text: string): InStatement | null {
  const tokens = searchTokens(text);
  if (tokens.length === 0) return null;
  const words = searchWords(tokens);
  // Substring presence is a cheap stand-in for "contains the word" that only orders candidates;
  // closeMatches applies the exact word test.
  const shared = words.map(() => "(instr(text, ?) > 0)").join(" + ");
  return {
    // `+m.project`/`+m.status` keep the planner on the candidates' rowids instead of the
    // (project, status) index, which would visit every active memory of the project.
    sql: `WITH candidates AS MATERIALIZED (
            SELECT m.seq, m.id, m.title, m.content, lower(coalesce(m.title, '') || ' ' || m.content) AS text
            FROM (SELECT rowid FROM memories_fts WHERE memories_fts MATCH ?
                  ORDER BY rowid DESC LIMIT ${SIMILAR_CANDIDATES}) c
            JOIN memories m ON m.seq = c.rowid
            WHERE +m.project = ? AND +m.status = 'active')
          SELECT id, title, content FROM candidates ORDER BY ${shared} DESC, seq DESC LIMIT ${SIMILAR_MEASURED}`,
    args: [inProject(words.map(ftsWord).join(" OR "), project), project, ...words],
  };
}

/**
 * Memories count as similar only when really close: they share at least
 * half of their distinct words with the new text (Jaccard ≥ 0.5, stopwords
 * left out). Sharing a topic word or two is not enough: agents are told to
 * update or supersede similar memories, and a loose match invites wrong merges.
 */
const SIMILARITY_MIN = 0.5;

export function closeMatches(text: string, rows: Row[]): SimilarMemory[] {
  const words = new Set(distinctWords(text));
  // Closest first; among equals, the order the lookup gave (more searched words, then newer).
  return rows
    .map((row) => {
      const theirs = new Set(distinctWords(`${row.title ?? ""} ${row.content}`));
      const shared = [...theirs].filter((word) => words.has(word)).length;
      const union = words.size + theirs.size - shared;
      return { row, jaccard: union === 0 ? 0 : shared / union };
    })
    .filter(({ jaccard }) => jaccard >= SIMILARITY_MIN)
    .sort((a, b) => b.jaccard - a.jaccard)
    .slice(0, 3)
    .map(({ row }) => ({
      id: String(row.id),
      title: row.title == null ? null : String(row.title),
      snippet: clip(String(row.content), 160),
    }));
}
