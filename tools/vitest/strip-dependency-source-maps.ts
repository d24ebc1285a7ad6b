import { readFile } from "node:fs/promises";
import type { Plugin } from "vite";

/**
 * Dependencies (Stripe above all) ship `//# sourceMappingURL=` comments whose
 * maps name source files the package does not include. Vite reads each such
 * map while transforming the file for the Workers runtime and prints
 * "Sourcemap for … points to missing source files": hundreds of lines per run
 * that say nothing about our code and bury what does. This plugin loads every
 * JavaScript file under node_modules itself, with the reference removed, so
 * Vite never looks for the map. Stack traces through a dependency then point
 * at its shipped JavaScript, which is what we would read anyway; our own
 * sources keep their maps.
 */
const DEPENDENCY_SCRIPT = /\/node_modules\/.+\.[cm]?js$/;
// Both comment forms: `//# sourceMappingURL=…` (and the old `//@`) and `/*# sourceMappingURL=… */`.
const SOURCE_MAP_REFERENCE =
  /^[ \t]*(?:\/\/[#@][ \t]*sourceMappingURL=[^\n]*|\/\*[#@][ \t]*sourceMappingURL=[^*]*\*\/)[ \t]*$/gm;

export function stripDependencySourceMaps(): Plugin {
  return {
    name: "muninn:strip-dependency-source-maps",
    enforce: "pre",
    async load(id) {
      const path = id.split("?", 1)[0] ?? id;
      if (!DEPENDENCY_SCRIPT.test(path)) return null;
      let code: string;
      try {
        code = await readFile(path, "utf8");
      } catch {
        // Not a file on disk (a virtual module with a path-like id): Vite's own loader decides.
        return null;
      }
      if (!code.includes("sourceMappingURL")) return null;
      return { code: code.replace(SOURCE_MAP_REFERENCE, ""), map: null };
    },
  };
}
