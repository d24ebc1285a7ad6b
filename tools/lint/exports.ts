import { readFileSync } from "node:fs";

/**
 * What a module exports and what it takes from the modules it imports, read
 * from the source text (comments stripped) — enough for `npm run lint` to
 * find an export nothing imports. Only relative imports matter: a package
 * never imports us.
 */

export interface ModuleLinks {
  /**
   * Names this module exports, with whether each is a type or a value
   * (`default` left out: frameworks consume it by convention).
   */
  exports: Map<string, "type" | "value">;
  /** Per relative specifier: the names taken from it, or "*" for the whole module (`import * as`, `import()`). */
  uses: Map<string, Set<string> | "*">;
}

const NAME = "[A-Za-z_$][\\w$]*";
const DECLARED_EXPORT = new RegExp(
  `(?:^|[\\s;])export\\s+(?:declare\\s+)?(?:async\\s+)?(function\\*?|const|let|var|class|abstract\\s+class|interface|type|enum|namespace)\\s+(${NAME})`,
  "gm",
);
/** `export { a, b as c }` and `export { a } from "./x"`; group 2 is the specifier when re-exporting. */
const LIST_EXPORT = /(?:^|[\s;])export\s+(type\s+)?\{([^}]*)\}(?:\s*from\s*["']([^"']+)["'])?/gm;
const STAR_EXPORT = /(?:^|[\s;])export\s*\*\s*(?:as\s+[\w$]+\s*)?from\s*["']([^"']+)["']/gm;
/** The clause between `import` and `from`: never holds a quote or a semicolon. */
const STATIC_IMPORT = /(?:^|[\s;])import\s+([^;"'`]*?)\s*from\s*["']([^"']+)["']/gm;
const DYNAMIC_IMPORT = /import\(\s*["']([^"']+)["']\s*\)/g;

export function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

/** `a, b as c, type d` → the names as the exporting module spells them (a, b, d). */
function listedNames(list: string, side: "exported" | "imported"): string[] {
  return list
    .split(",")
    .map((item) => item.trim().replace(/^type\s+/, ""))
    .filter(Boolean)
    .map((item) => {
      const [local, alias] = item.split(/\s+as\s+/);
      return (side === "exported" ? (alias ?? local) : local) ?? "";
    })
    .filter((name) => name && name !== "default");
}

function use(uses: ModuleLinks["uses"], specifier: string, names: string[] | "*") {
  if (!specifier.startsWith(".")) return;
  const current = uses.get(specifier);
  if (current === "*") return;
  if (names === "*") {
    uses.set(specifier, "*");
    return;
  }
  const set = current ?? new Set<string>();
  for (const name of names) set.add(name);
  uses.set(specifier, set);
}

export function linksOf(file: string): ModuleLinks {
  const text = stripComments(readFileSync(file, "utf8"));
  const exports: ModuleLinks["exports"] = new Map();
  const uses: ModuleLinks["uses"] = new Map();
  for (const match of text.matchAll(DECLARED_EXPORT)) {
    exports.set(match[2] ?? "", match[1] === "interface" || match[1] === "type" ? "type" : "value");
  }
  for (const match of text.matchAll(LIST_EXPORT)) {
    for (const name of listedNames(match[2] ?? "", "exported")) exports.set(name, match[1] ? "type" : "value");
    if (match[3]) use(uses, match[3], listedNames(match[2] ?? "", "imported"));
  }
  for (const match of text.matchAll(STAR_EXPORT)) use(uses, match[1] ?? "", "*");
  for (const match of text.matchAll(STATIC_IMPORT)) {
    const clause = (match[1] ?? "").replace(/^type\s+/, "");
    if (/\*\s*as\s/.test(clause)) {
      use(uses, match[2] ?? "", "*");
      continue;
    }
    const braces = clause.match(/\{([^}]*)\}/);
    use(uses, match[2] ?? "", braces ? listedNames(braces[1] ?? "", "imported") : []);
  }
  for (const match of text.matchAll(DYNAMIC_IMPORT)) use(uses, match[1] ?? "", "*");
  exports.delete("");
  return { exports, uses };
}
