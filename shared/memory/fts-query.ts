/**
 * Turning free text into an FTS5 MATCH expression that can never be a syntax
 * error. FTS5 gives meaning to quotes, `*`, `^`, `-`, `:`, parentheses and
 * the words AND/OR/NOT/NEAR; a user (or a model) searching for
 * `"NEAR(foo" -bar*` must get results, not an error. So the text is cut into
 * the same tokens the index holds (letters, digits and `_`, as the unicode61
 * tokenizer sees them) and each token is emitted as a double-quoted string,
 * which FTS5 treats as a literal phrase whatever it contains.
 */

/** Word characters for unicode61: letters, numbers and marks; everything else separates tokens. */
const TOKEN = /[\p{L}\p{N}\p{M}_]+/gu;

const MAX_TOKENS = 24;

/** Common words that match almost everything and only dilute BM25. */
const STOPWORDS = new Set([
  "a",
  "an",
  "and",
  "are",
  "as",
  "at",
  "be",
  "by",
  "for",
  "from",
  "how",
  "i",
  "in",
  "is",
  "it",
  "of",
  "on",
  "or",
  "that",
  "the",
  "this",
  "to",
  "was",
  "we",
  "what",
  "when",
  "where",
  "which",
  "with",
]);

/** The distinct searchable tokens of `text`, lower-cased, in order of first appearance. */
export function searchTokens(text: string): string[] {
  const tokens: string[] = [];
  const seen = new Set<string>();
  for (const match of text.normalize("NFKC").toLowerCase().matchAll(TOKEN)) {
    const token = match[0];
    if (seen.has(token)) continue;
    seen.add(token);
    tokens.push(token);
  }
  const meaningful = tokens.filter((token) => !STOPWORDS.has(token));
  // A query made only of stopwords ("what is it") still searches for them.
  return (meaningful.length > 0 ? meaningful : tokens).slice(0, MAX_TOKENS);
}

/**
 * An FTS5 expression matching documents that contain any of the tokens
 * (BM25 then ranks documents with more and rarer tokens first), or null when
 * the text has nothing searchable (only punctuation or emoji).
 */
export function ftsQuery(text: string): string | null {
  const tokens = searchTokens(text);
  if (tokens.length === 0) return null;
  return tokens.map((token) => `"${token}"`).join(" OR ");
}
