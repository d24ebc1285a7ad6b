/**
 * The part of a memory's text a recall hit shows: the run of `SNIPPET_WORDS`
 * words holding the most query words, with "…" where it was cut.
 *
 * Built here rather than by FTS5's `snippet()`: FTS5 must compute a snippet
 * for every row it sorts, and when the candidates are found by skipping
 * common words (see `textCandidates` in `recall.ts`) there is no single match
 * cursor to ask. Only the hits a recall returns (ten by default) get one, so
 * the cost does not grow with the matches.
 *
 * A query word matches a text word the way the index would, closely enough
 * for choosing what to show: the same word, a word it begins when it is long
 * enough to be searched as a prefix ("postgres" → "PostgreSQL"), or the same
 * word once a few English endings are taken off ("deployed" and "deploys" for
 * "deploy"; the index itself uses the Porter stemmer).
 */
import { PREFIX_MIN_CHARS, TOKEN } from "./fts-query";
import { clip } from "./model";

/** As long as FTS5's `snippet(…, 24)` was. */
export const SNIPPET_WORDS = 24;
const ENDINGS = ["ing", "ed", "es", "s", "ly"];

function roughStem(word: string): string {
  for (const ending of ENDINGS) {
    if (word.endsWith(ending) && word.length - ending.length >= 3) return word.slice(0, -ending.length);
  }
  return word;
}

/**
 * Which of `words` a text word matches (its index, or -1). `words` are search
 * tokens, already NFKC and lower case (`searchTokens`).
 */
export function queryWordMatcher(words: string[]): (word: string) => number {
  const stems = words.map(roughStem);
  return (word) => {
    const lower = word.normalize("NFKC").toLowerCase();
    const stem = roughStem(lower);
    return words.findIndex(
      (query, i) =>
        lower === query || (query.length >= PREFIX_MIN_CHARS && lower.startsWith(query)) || stem === stems[i],
    );
  };
}

/**
 * The snippet of `text` for `queryWords` (the query's search tokens): the
 * window of `SNIPPET_WORDS` words with the most distinct query words (then
 * the most matches, then the earliest), on one line; the text's beginning,
 * clipped to `fallbackChars`, when no query word is in it.
 */
export function snippetOf(text: string, queryWords: string[], fallbackChars: number): string {
  const match = queryWordMatcher(queryWords);
  const words = [...text.matchAll(TOKEN)].map((found) => ({
    start: found.index,
    end: found.index + found[0].length,
    hit: match(found[0]),
  }));
  if (!words.some((word) => word.hit >= 0)) return clip(text, fallbackChars);
  // A sliding window: how often each query word is in it, how many distinct ones, how many matches.
  const counts = new Map<number, number>();
  let distinct = 0;
  let hits = 0;
  const move = (word: (typeof words)[number] | undefined, step: 1 | -1) => {
    if (!word || word.hit < 0) return;
    const count = (counts.get(word.hit) ?? 0) + step;
    counts.set(word.hit, count);
    hits += step;
    if (step === 1 && count === 1) distinct += 1;
    if (step === -1 && count === 0) distinct -= 1;
  };
  for (let i = 0; i < SNIPPET_WORDS; i++) move(words[i], 1);
  let best = { from: 0, distinct, hits };
  for (let from = 1; from + SNIPPET_WORDS <= words.length; from++) {
    move(words[from - 1], -1);
    move(words[from + SNIPPET_WORDS - 1], 1);
    if (distinct > best.distinct || (distinct === best.distinct && hits > best.hits)) best = { from, distinct, hits };
  }
  const first = words[best.from] as (typeof words)[number];
  const lastIndex = Math.min(words.length, best.from + SNIPPET_WORDS) - 1;
  const last = words[lastIndex] as (typeof words)[number];
  // Cut only between words; a window reaching either end keeps the text's own punctuation there.
  const cutBefore = best.from > 0;
  const cutAfter = lastIndex < words.length - 1;
  const body = text
    .slice(cutBefore ? first.start : 0, cutAfter ? last.end : text.length)
    .replace(/\s+/g, " ")
    .trim();
  return `${cutBefore ? "…" : ""}${body}${cutAfter ? "…" : ""}`;
}

/** Which of `queryWords` occur in `text`, matched as the snippet matches them: why a hit matched, in words. */
export function matchedWords(text: string, queryWords: string[]): string[] {
  const match = queryWordMatcher(queryWords);
  const found = new Set<number>();
  for (const word of text.matchAll(TOKEN)) {
    const hit = match(word[0]);
    if (hit >= 0) found.add(hit);
  }
  return queryWords.filter((_, index) => found.has(index));
}
