/**
 * The time lever of `recall`: a question about when something happened
 * ("when did…", "how long…", "what year…") is answered by a memory that
 * says when — "yesterday", "last week", "in May", "2023", "two days ago".
 * The question words that ask it are stopwords, so the index alone never
 * sees the ask; this signal is 1 for a memory of such a question whose text
 * holds a time expression, else 0. Plain English time words only: no date
 * of the dataset, no question of it.
 */
const ASKS_WHEN = /\b(when|how long|how many (?:days|weeks|months|years)|what (?:year|month|day|date|time))\b/i;

const SAYS_WHEN = new RegExp(
  "\\b(?:yesterday|today|tonight|tomorrow|ago|last|next|recently|earlier|later|since|week|weeks|weekend|" +
    "month|months|year|years|morning|evening|night|monday|tuesday|wednesday|thursday|friday|saturday|sunday|" +
    "january|february|march|april|may|june|july|august|september|october|november|december|" +
    "spring|summer|autumn|fall|winter|\\d{4}|\\d{1,2}(?:st|nd|rd|th))\\b",
  "i",
);

/** Whether the query asks when (or how long). */
export function asksWhen(query: string): boolean {
  return ASKS_WHEN.test(query);
}

/** 1 when the text says when something happened, else 0. */
export function timeSignal(text: string): number {
  return SAYS_WHEN.test(text) ? 1 : 0;
}
