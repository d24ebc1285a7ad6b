import type { Row } from "./model";

/**
 * The pure arithmetic of `recall`'s ranking, apart from the SQL that gathers
 * candidates, so each signal's bounds can be pinned by unit tests.
 */

export interface SignalBreakdown {
  /** How much of the query the memory's own text matches, 0–1 (BM25 over the query's ideal BM25). */
  text: number;
  /** What the memories saved just before and after it add to that (conversation context), 0–1. */
  context: number;
  /** Share of the query's neighbouring word pairs that stand together in the text (`recall-phrases.ts`), 0–1. */
  phrase: number;
  /** 1 when the query asks when and the text says when (`recall-time.ts`), else 0. */
  time: number;
  file: number;
  recency: number;
  importance: number;
  use: number;
}

/**
 * How the signals combine. Relevance (text with its context, and file
 * match) decides the order, with the phrase and time levers added to the
 * ranking score beside it (`recall-levers.ts`); recency, importance and use only break ties:
 * together they add at most `tieBreak` (0.05), so they can reorder hits
 * whose relevance is within 0.05 but never lift a weak match over a strong one.
 */
export const WEIGHTS = {
  /** Share of text and of file match in relevance when a query gives both. */
  text: 0.6,
  file: 0.4,
  tieBreak: 0.05,
  recency: 0.4,
  importance: 0.4,
  use: 0.2,
} as const;

/** Hits less relevant than this are noise: a query that matches nothing real answers an empty list. */
export const RELEVANCE_FLOOR = 0.1;

/**
 * Conversation context: among memories of kind `event` (what happened or
 * was said, such as the turns of a conversation saved in order), one saved
 * right before or after a hit, in the same project and within
 * `CONTEXT_WINDOW_MS`, lends it part of its own text score — half for the
 * adjacent one, a fifth for the one beyond. A question about what was said is
 * often answered by the turn after the one that repeats its words. Other
 * kinds are standalone statements (a batch of decisions is not a dialogue),
 * so they neither lend nor borrow.
 */
export const CONTEXT_WEIGHTS = [0.5, 0.2] as const;
export const CONTEXT_WINDOW_MS = 60 * 60 * 1000;

/** Recency halves roughly every three weeks. */
const RECENCY_DAYS = 30;
const DAY_MS = 86_400_000;
/** A memory used this many times has the full use signal. */
const USE_SATURATION = 100;
/**
 * The BM25 a memory would score if it matched every word of the query once:
 * the sum of the words' IDFs over the project (from the `total` and `counts`
 * columns of the text candidates).
 * Dividing by it makes a hit's text score absolute — independent of the other
 * hits — so a floor can drop noise.
 */
export function idealBm25(row: Row | undefined): number {
  return termIdfs(row).reduce((sum, idf) => sum + idf, 0);
}

/** Each query word's IDF as FTS5's `bm25()` computes it, from a row's `total` and `counts` (JSON, in word order). */
function termIdfs(row: Row | undefined): number[] {
  const total = Number(row?.total ?? 0);
  const counts = JSON.parse(String(row?.counts ?? "[]")) as number[];
  // Over one project (`idf_form` 'plus', see `recall-candidates.ts`), the form that never reaches 0;
  // over the tenant, FTS5's own, which floors an IDF at 1e-6 when a word is in more than half of the memories.
  if (row?.idf_form === "plus") return counts.map((hits) => Math.log(1 + (total - hits + 0.5) / (hits + 0.5)));
  return counts.map((hits) => Math.max(1e-6, Math.log((total - hits + 0.5) / (hits + 0.5))));
}

/** FTS5's fixed BM25 `k1`: a word's part of a score approaches IDF × (k1 + 1) however often it occurs. */
const BM25_K1 = 1.2;

/**
 * Whether text candidates found by skipping common words are exactly
 * the best ones (see `recall`'s `textCandidates`): a memory holding none of
 * the rare words scores less than the common words' IDF × (k1 + 1) summed,
 * so if the weakest candidate kept scores at least that, nothing skipped
 * could have taken its place. The row's `common_words` flags the skipped
 * words, in word order; the margin absorbs floating-point rounding.
 */
export function skippedCannotCompete(row: Row | undefined, weakestKept: number): boolean {
  const common = JSON.parse(String(row?.common_words ?? "[]")) as number[];
  const bound = termIdfs(row).reduce((sum, idf, i) => (common[i] ? sum + idf * (BM25_K1 + 1) : sum), 0);
  return weakestKept > bound * (1 + 1e-9);
}

/** File match: 1 for the same path, 0.6 when one contains the other, else 0. */
export function fileSignal(stored: string[], queried: string[]): number {
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

/**
 * What its neighbours lend each event: events of the same project saved
 * just before or after it (by `seq`), close in time.
 */
export function contextScores(
  rows: Row[],
  textOf = (row: Row) => Number(row.bm25 ?? 0),
  weights: readonly number[] = CONTEXT_WEIGHTS,
): Map<number, number> {
  const bySeq = new Map(rows.map((row) => [Number(row.seq), row]));
  const context = new Map<number, number>();
  for (const row of rows) {
    if (row.kind !== "event") continue;
    const seq = Number(row.seq);
    let lent = 0;
    weights.forEach((weight, index) => {
      for (const neighbour of [bySeq.get(seq - index - 1), bySeq.get(seq + index + 1)]) {
        if (!neighbour || neighbour.project !== row.project || neighbour.kind !== "event") continue;
        if (Math.abs(Number(neighbour.created_at) - Number(row.created_at)) > CONTEXT_WINDOW_MS) continue;
        lent += weight * textOf(neighbour);
      }
    });
    context.set(seq, lent);
  }
  return context;
}

/** A memory's signals apart from what the query matched, each 0–1. */
export function standingSignals(
  memory: { importance: number; accessCount: number; updatedAt: number },
  now: number,
): Pick<SignalBreakdown, "recency" | "importance" | "use"> {
  return {
    recency: Math.exp(-Math.max(0, now - memory.updatedAt) / (RECENCY_DAYS * DAY_MS)),
    importance: (memory.importance - 1) / 4,
    use: Math.min(1, Math.log1p(memory.accessCount) / Math.log1p(USE_SATURATION)),
  };
}

/** What recency, importance and use add to relevance: at most `WEIGHTS.tieBreak`. */
export function tieBreak(signals: Pick<SignalBreakdown, "recency" | "importance" | "use">): number {
  return (
    WEIGHTS.tieBreak *
    (signals.recency * WEIGHTS.recency + signals.importance * WEIGHTS.importance + signals.use * WEIGHTS.use)
  );
}
