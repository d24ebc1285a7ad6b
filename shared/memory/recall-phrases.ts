import { TOKEN } from "./fts-query";
import { queryWordMatcher } from "./snippet";

/**
 * The phrase lever of `recall`: how many of the query's neighbouring words
 * (each search token and the next, as the query orders them) stand close
 * together in a memory's text as well, as a share of those pairs, 0–1.
 * "pottery class" meets "signed up for a pottery class" fully and "a class
 * on clay, then pottery at home" not at all, though BM25 scores both words
 * in each. Close means at most `PHRASE_GAP` words apart, in either order
 * ("agency for adoption" for "adoption agency"); words match as the snippet
 * matches them (the same word, a prefix, a few English endings).
 *
 * Computed in the Worker over the text candidates only (about a hundred
 * short texts), after the index has chosen them.
 */
export const PHRASE_GAP = 3;

export function phraseSignal(text: string, queryWords: string[]): number {
  if (queryWords.length < 2) return 0;
  const match = queryWordMatcher(queryWords);
  // Where each query word occurs in the text, by word position.
  const positions: number[][] = queryWords.map(() => []);
  let position = 0;
  for (const found of text.matchAll(TOKEN)) {
    const hit = match(found[0]);
    if (hit >= 0) positions[hit]?.push(position);
    position++;
  }
  let close = 0;
  for (let i = 0; i + 1 < queryWords.length; i++) {
    const next = positions[i + 1] ?? [];
    if ((positions[i] ?? []).some((at) => next.some((other) => Math.abs(other - at) <= PHRASE_GAP))) close++;
  }
  return close / (queryWords.length - 1);
}
