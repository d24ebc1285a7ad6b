/**
 * Fails (exit 1) when the project's own TypeScript modules import each other
 * in a cycle, or against the layering of docs/architecture.md (`shared/`
 * imports neither `workers/` nor `durable-objects/`; `durable-objects/` does
 * not import `workers/`), printing each offence. Run by `npm run lint`.
 *
 * Type-only imports count: a cycle of types is still two modules that cannot
 * be understood (or moved) one without the other, and it is usually the first
 * step towards a runtime cycle. Only relative imports are followed; packages
 * cannot import us back.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const SCANNED = ["workers", "durable-objects", "shared", "tools", "bench", "test"];
const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^;]*?from\s*["'](\.{1,2}\/[^"']+)["']|import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/gm;

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === "node_modules" || name.startsWith(".")) return [];
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|mts)$/.test(name) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

function resolveImport(from: string, specifier: string): string | null {
  const base = resolve(dirname(from), specifier);
  for (const candidate of [base, `${base}.ts`, `${base}.mts`, join(base, "index.ts")]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}

/** Every relative import of `file`, comments stripped so an example in a comment is not an edge. */
export function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "");
  const targets = new Set<string>();
  for (const match of text.matchAll(IMPORT)) {
    const target = resolveImport(file, match[1] ?? match[2] ?? "");
    if (target) targets.add(target);
  }
  return [...targets];
}

/** Strongly connected components with more than one module (or a module importing itself), by Tarjan's algorithm. */
export function findCycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const lowlinks = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];

  const visit = (node: string) => {
    indices.set(node, index);
    lowlinks.set(node, index);
    index += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indices.has(next)) {
        visit(next);
        lowlinks.set(node, Math.min(lowlinks.get(node) as number, lowlinks.get(next) as number));
      } else if (onStack.has(next)) {
        lowlinks.set(node, Math.min(lowlinks.get(node) as number, indices.get(next) as number));
      }
    }
    if (lowlinks.get(node) === indices.get(node)) {
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop() as string;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || graph.get(node)?.includes(node)) cycles.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!indices.has(node)) visit(node);
  return cycles;
}

/** Which top-level folders each layer may not import from. */
const FORBIDDEN: Record<string, string[]> = {
  shared: ["workers", "durable-objects"],
  "durable-objects": ["workers"],
};

const layerOf = (file: string) => relative(ROOT, file).split("/")[0] ?? "";

const graph = new Map<string, string[]>();
for (const file of SCANNED.flatMap((dir) => sourceFiles(join(ROOT, dir)))) graph.set(file, importsOf(file));
const cycles = findCycles(graph);
const violations = [...graph].flatMap(([file, targets]) =>
  targets
    .filter((target) => FORBIDDEN[layerOf(file)]?.includes(layerOf(target)))
    .map((target) => `${relative(ROOT, file)} → ${relative(ROOT, target)}`),
);
if (cycles.length > 0) {
  console.error(`import cycles (${cycles.length}); make the shared part a module both can import:`);
  for (const cycle of cycles) console.error(`  ${cycle.map((file) => relative(ROOT, file)).join(" ↔ ")}`);
}
if (violations.length > 0) {
  console.error(`imports against the layering (${violations.length}); see docs/architecture.md:`);
  for (const violation of violations) console.error(`  ${violation}`);
}
if (cycles.length > 0 || violations.length > 0) process.exit(1);
console.log(`no import cycles or layering violations among ${graph.size} modules`);
