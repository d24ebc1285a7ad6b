/**
 * The one rule for control characters in text a client sends, used by every
 * REST route (`workers/api/validation.ts`) and by the memory field rules
 * (`shared/memory/fields.ts`).
 *
 * Why: SQLite's text functions and most C-based consumers stop at NUL, so a
 * value holding one is stored or compared cut off (`"evil\u0000org"` reads
 * back as `evil`); other C0/C1 controls are invisible on a page, reorder or
 * erase what a terminal shows, and are never part of a name, an email, a tag
 * or a slug; nor are the bidirectional formatting characters, which make a
 * name read as another. Text that is written as prose — a memory's content, an issue's
 * description, a work session's goal — keeps tab, line feed and carriage
 * return, because that is how code and paragraphs are written; everything
 * else is refused there too.
 */

/** C0 controls (U+0000–U+001F), DEL (U+007F) and C1 controls (U+0080–U+009F). */
function isControl(code: number): boolean {
  return code <= 0x1f || (code >= 0x7f && code <= 0x9f);
}

/** Tab, line feed and carriage return: how prose lays itself out. */
const LAYOUT = new Set([0x09, 0x0a, 0x0d]);

/**
 * Bidirectional formatting: the Arabic letter mark, left-to-right and
 * right-to-left marks, the embeddings and overrides (U+202A–U+202E) and the
 * isolates (U+2066–U+2069). In a name they make "Evil\u202eppA" read as
 * another name on a page; prose (an RTL paragraph) may need them.
 */
function isBidiFormatting(code: number): boolean {
  return (
    code === 0x061c ||
    code === 0x200e ||
    code === 0x200f ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

export type TextKind = "line" | "prose";

/**
 * Whether `text` holds a character its kind refuses: for a line any control
 * or bidirectional formatting character, for prose any control but \t \n \r.
 */
export function hasRefusedControl(text: string, kind: TextKind): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (kind === "line" ? isControl(code) || isBidiFormatting(code) : isControl(code) && !LAYOUT.has(code)) return true;
  }
  return false;
}

/** What a refusal says, naming the exceptions a kind allows. */
export function controlMessage(kind: TextKind): string {
  return kind === "line"
    ? "must not contain control characters (U+0000–U+001F, U+007F–U+009F, including NUL and line breaks) " +
        "or bidirectional formatting characters"
    : "must not contain control characters other than tab, line feed and carriage return (no NUL)";
}

/**
 * The paths of every string anywhere in `value` (objects, arrays, nested)
 * that holds a control character `kind` refuses, so one check over a whole
 * input cannot miss a field added later.
 */
export function refusedControlPaths(
  value: unknown,
  kind: TextKind,
  path: (string | number)[] = [],
): (string | number)[][] {
  if (typeof value === "string") return hasRefusedControl(value, kind) ? [path] : [];
  if (Array.isArray(value)) return value.flatMap((item, index) => refusedControlPaths(item, kind, [...path, index]));
  if (value !== null && typeof value === "object") {
    return Object.entries(value).flatMap(([key, item]) => refusedControlPaths(item, kind, [...path, key]));
  }
  return [];
}
