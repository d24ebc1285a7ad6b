/**
 * Reading values out of libSQL rows, one definition each. Rows arrive as
 * `unknown` (the driver's `Value`): NULL must stay null rather than become the
 * string "null", and times are stored either as ISO text (management DB) or
 * as epoch numbers (tenant DBs in milliseconds, Stripe and the OAuth store in
 * seconds), each turned into the same ISO form for answers.
 */

/** A nullable text column. */
export function textOrNull(value: unknown): string | null {
  return value == null ? null : String(value);
}

/** Seconds since the epoch (Stripe, the OAuth store) to ISO 8601. */
export function isoFromSeconds(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

/** A nullable epoch-milliseconds column (tenant databases) to ISO 8601. */
export function isoFromMillisOrNull(value: unknown): string | null {
  return value == null ? null : new Date(Number(value)).toISOString();
}
