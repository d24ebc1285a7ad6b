import { phraseSignal } from "./recall-phrases";
import { CONTEXT_WEIGHTS } from "./recall-scoring";
import { asksWhen, timeSignal } from "./recall-time";

/**
 * The parameters of `recall`'s ranking levers, in one place so that the
 * benchmark can choose them on some conversations and score them on others
 * (`bench/recall-holdout.ts`). `recall` uses `DEFAULT_TUNING`; the
 * benchmark passes other values, never a client.
 */
export interface RecallTuning {
  /** What the events saved right before and after a hit lend it (conversation context): the adjacent ones, the ones beyond. */
  context: readonly number[];
  /** How much a full phrase match (`recall-phrases.ts`) adds to the ranking score (not to relevance, see `addLevers`). */
  phrase: number;
  /** How much a time expression adds to the ranking score of a hit when the question asks when (`recall-time.ts`). */
  time: number;
}

export const DEFAULT_TUNING: RecallTuning = {
  context: CONTEXT_WEIGHTS,
  phrase: 0.3,
  time: 0.2,
};

/** What `addLevers` reads and updates of a scored candidate. */
interface Scored {
  memory: { title: string | null; content: string };
  score: number;
  signals: { text: number; context: number; phrase: number; time: number };
}

/**
 * Add the phrase and time levers to the candidates' ranking scores (not to
 * their relevance, which keeps saying what matched and meets the floor):
 * they separate memories that each match every query word, where relevance
 * is 1 for all. `scale` is the text's share of relevance (less when files
 * are asked too).
 *
 * Only candidates that could still reach the first `limit` are looked at:
 * every lever only adds, by at most its weight, so one whose score plus the
 * levers' whole weight stays below the `limit`-th score before the levers
 * cannot be returned, and its signals stay 0 (`prune` false when the order
 * is not by score alone, e.g. the current project first).
 */
export function addLevers(
  hits: Scored[],
  tokens: string[],
  query: string | undefined,
  limit: number,
  tuning: RecallTuning,
  scale: number,
  prune: boolean,
): void {
  const phraseOn = tuning.phrase > 0 && tokens.length > 1;
  const whenOn = tuning.time > 0 && asksWhen(query ?? "");
  if (!phraseOn && !whenOn) return;
  const most = scale * ((phraseOn ? tuning.phrase : 0) + (whenOn ? tuning.time : 0));
  let below = Number.NEGATIVE_INFINITY;
  if (prune && hits.length > limit) {
    const scores = hits.map((hit) => hit.score).sort((a, b) => b - a);
    below = (scores[limit - 1] ?? Number.NEGATIVE_INFINITY) - most;
  }
  for (const hit of hits) {
    if (hit.score < below) continue;
    const text = `${hit.memory.title ?? ""} ${hit.memory.content}`;
    const phrase = phraseOn && hit.signals.text > 0 ? phraseSignal(text, tokens) : 0;
    const time = whenOn && hit.signals.text + hit.signals.context > 0 ? timeSignal(text) : 0;
    hit.signals.phrase = phrase;
    hit.signals.time = time;
    hit.score += scale * (tuning.phrase * phrase + tuning.time * time);
  }
}
