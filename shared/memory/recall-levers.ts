import { CONTEXT_WEIGHTS } from "./recall-scoring";

/**
 * The parameters of `recall`'s ranking levers, in one place so that the
 * benchmark can choose them on some conversations and score them on others
 * (`bench/recall-holdout.ts`). `recall` uses `DEFAULT_TUNING`; the
 * benchmark passes other values, never a client.
 */
export interface RecallTuning {
  /** What the events saved right before and after a hit lend it (conversation context): the adjacent ones, the ones beyond. */
  context: readonly number[];
  /** How much a full phrase match (`recall-phrases.ts`) adds to relevance. */
  phrase: number;
  /** How much a time expression adds to the relevance of a hit of a question asking when (`recall-time.ts`). */
  time: number;
}

export const DEFAULT_TUNING: RecallTuning = {
  context: CONTEXT_WEIGHTS,
  phrase: 0.3,
  time: 0.2,
};
