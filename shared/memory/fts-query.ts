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
export const TOKEN = /[\p{L}\p{N}\p{M}_]+/gu;

const MAX_TOKENS = 24;

/**
 * Words that match almost everything and only dilute BM25: articles,
 * pronouns, auxiliaries, prepositions, conjunctions, the question words a
 * query is phrased with ("why did we…", "what does…", "who is…"), and the
 * letters contractions and possessives leave behind ("don't", "Ada's").
 */
const STOPWORDS = new Set(
  (
    "a about above after again against all also am an and any are as at be because been before being below between " +
    "both but by can could d did do does doing done down during each few for from further get got had has have " +
    "having he her here hers herself him himself his how i if in into is it its itself just ll let m me more most my " +
    "myself no nor not now of off on once only or other our ours ourselves out over own re s same she should so some " +
    "such t than that the their theirs them themselves then there these they this those through to too under until " +
    "up us ve very was we were what whatever when where whether which while who whom whose why will with would you " +
    "your yours yourself yourselves"
  ).split(" "),
);

/**
 * Query words at least this long also match words they begin: "postgres"
 * meets "PostgreSQL", "config" meets "configuration". Shorter words would
 * match too much ("art" would meet "article").
 */
export const PREFIX_MIN_CHARS = 6;

/**
 * The distinct searchable tokens of `text`, lower-cased, in order of first
 * appearance, without stopwords. A text of nothing but stopwords ("what is
 * it") has none: it names nothing to look for, and matching it would rank
 * noise.
 */
export function searchTokens(text: string): string[] {
  return distinctWords(text).slice(0, MAX_TOKENS);
}

/** Every distinct non-stopword token of `text`, in order of first appearance. */
export function distinctWords(text: string): string[] {
  const tokens: string[] = [];
  const seen = new Set<string>();
  for (const match of text.normalize("NFKC").toLowerCase().matchAll(TOKEN)) {
    const token = match[0];
    if (seen.has(token)) continue;
    seen.add(token);
    tokens.push(token);
  }
  return tokens.filter((token) => !STOPWORDS.has(token));
}

/** The FTS5 term for one token: a quoted literal, and a prefix search when it is long. */
export function ftsTerm(token: string): string {
  return token.length >= PREFIX_MIN_CHARS ? `${ftsWord(token)}*` : ftsWord(token);
}

/** The FTS5 term for exactly this token (as the index stems it), never a prefix search. */
export function ftsWord(token: string): string {
  return `"${token}"`;
}

/**
 * An FTS5 expression matching documents that contain any of the tokens
 * (BM25 then ranks documents with more and rarer tokens first), or null when
 * the text has nothing searchable (only punctuation, emoji or stopwords).
 */
export function ftsQuery(text: string): string | null {
  const tokens = searchTokens(text);
  if (tokens.length === 0) return null;
  return tokens.map(ftsTerm).join(" OR ");
}

/**
 * The weights of `memories_fts`'s configured rank (title, tags, content, and
 * 0 for the project key, which only filters); `bm25()` must be given them explicitly.
 */
export const BM25_RANK = "bm25(memories_fts, 10.0, 4.0, 1.0, 0.0)";

/**
 * The columns a query word is searched in: every MATCH expression of user
 * text is prefixed with it, so a word never meets the project key column.
 */
export const TEXT_COLUMNS = "{title tags content}";

/**
 * A project's token in the index's `project_key` column (tenant migration
 * 0005): `p` and the slug's UTF-8 in hex, as the index's view writes it.
 */
export function projectKey(project: string): string {
  return `p${Array.from(new TextEncoder().encode(project), (byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}

/** An expression over the text columns, limited to one project's memories by the index itself. */
export function inProject(expression: string, project: string): string {
  return `${TEXT_COLUMNS}: (${expression}) AND project_key: ${projectKey(project)}`;
}
