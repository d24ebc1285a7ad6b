/**
 * Fails (exit 1) when the project's own TypeScript modules import each other
 * in a cycle, or against the layering of docs/architecture.md (`shared/`
 * imports neither `workers/` nor `durable-objects/`; `durable-objects/` does
 * not import `workers/`), when a module exports a name no other module
 * imports (tests count as importers; the Worker's entry point is exempt, since
 * wrangler reads it), or when a source file outside `tools/` is over
 * `MAX_LINES` lines, printing each offence. Run by `npm run lint`.
 *
 * Type-only imports count: a cycle of types is still two modules that cannot
 * be understood (or moved) one without the other, and it is usually the first
 * step towards a runtime cycle. Only relative imports are followed; packages
 * cannot import us back.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { linksOf, stripComments } from "./lint/exports";

/** The project to check: this one, or the folder given as the first argument (the lint's own test uses a fixture). */
const ROOT = resolve(process.argv[2] ?? join(import.meta.dirname, ".."));
const SCANNED = ["workers", "durable-objects", "shared", "tools", "bench", "test", "conformance"];
/**
 * Read by something other than our modules (wrangler's `main`, the entry the
 * latency benchmark starts `wrangler dev` with, the Worker bench/db-round-trip.ts
 * bundles), so their exports need no importer.
 */
const ENTRY_POINTS = new Set([
  "workers/index.ts",
  "bench/worker/far-object-entry.ts",
  "bench/worker/db-round-trip-entry.ts",
]);
/** A file this long holds more than one concept; split it by concept (CONVENTIONS.md). */
const MAX_LINES = 450;
const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^;]*?from\s*["'](\.{1,2}\/[^"']+)["']|import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/gm;

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === "node_modules" || name.startsWith(".")) return [];
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|tsx)$/.test(name) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

function resolveImport(from: string, specifier: string): string | null {
  const base = resolve(dirname(from), specifier);
  // Node-style ESM imports name the emitted `.js`; the source is the `.ts` beside it.
  const source = base.replace(/\.(m?)js$/, ".$1ts");
  for (const candidate of [base, source, `${base}.ts`, `${base}.tsx`, `${base}.mts`, join(base, "index.ts")]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}

/** Every relative import of `file`, comments stripped so an example in a comment is not an edge. */
function importsOf(file: string): string[] {
  const text = stripComments(readFileSync(file, "utf8"));
  const targets = new Set<string>();
  for (const match of text.matchAll(IMPORT)) {
    const target = resolveImport(file, match[1] ?? match[2] ?? "");
    if (target) targets.add(target);
  }
  return [...targets];
}

/** Strongly connected components with more than one module (or a module importing itself), by Tarjan's algorithm. */
function findCycles(graph: Map<string, string[]>): string[][] {
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

/** `file: name` exports left for the branches that own their files; shrink, never grow. */
const UNUSED_ALLOWED = new Set<string>([]);

/** Which top-level folders each layer may not import from. */
const FORBIDDEN: Record<string, string[]> = {
  shared: ["workers", "durable-objects"],
  "durable-objects": ["workers"],
};

const layerOf = (file: string) => relative(ROOT, file).split("/")[0] ?? "";

/**
 * Folders whose subfolders are capabilities that never import each other
 * (docs/architecture.md): a tenant's move, portability and deletion each
 * stand alone, so changing one cannot break another.
 */
const CAPABILITY_PARENTS = ["shared/lifecycle"];
const capabilityOf = (file: string): string | null => {
  const path = relative(ROOT, file);
  const parent = CAPABILITY_PARENTS.find((folder) => path.startsWith(`${folder}/`));
  const rest = parent ? path.slice(parent.length + 1).split("/") : [];
  return parent && rest.length > 1 ? `${parent}/${rest[0]}` : null;
};
const crossesCapability = (file: string, target: string) => {
  const [from, to] = [capabilityOf(file), capabilityOf(target)];
  return from !== null && to !== null && from !== to;
};

const files = SCANNED.flatMap((dir) => sourceFiles(join(ROOT, dir)));
const graph = new Map<string, string[]>();
for (const file of files) graph.set(file, importsOf(file));
const cycles = findCycles(graph);
const violations = [...graph].flatMap(([file, targets]) =>
  targets
    .filter((target) => FORBIDDEN[layerOf(file)]?.includes(layerOf(target)) || crossesCapability(file, target))
    .map((target) => `${relative(ROOT, file)} → ${relative(ROOT, target)}`),
);

/**
 * Value exports (functions, constants, classes) no module takes. Types are
 * left alone: an exported type names the parameters or result of an exported
 * function, and callers may spell it without importing it today.
 * Importers are every scanned module and the vitest configs at the root. */
function unusedExports(): string[] {
  const importers = [
    ...files,
    ...readdirSync(ROOT)
      .filter((name) => name.endsWith(".mts"))
      .map((name) => join(ROOT, name)),
  ];
  const used = new Map<string, Set<string> | "*">();
  for (const importer of importers) {
    for (const [specifier, names] of linksOf(importer).uses) {
      const target = resolveImport(importer, specifier);
      if (!target) continue;
      const current = used.get(target);
      if (current === "*" || names === "*") {
        used.set(target, "*");
        continue;
      }
      used.set(target, new Set([...(current ?? []), ...names]));
    }
  }
  return files.flatMap((file) => {
    const name = relative(ROOT, file);
    const taken = used.get(file);
    if (ENTRY_POINTS.has(name) || taken === "*") return [];
    return [...linksOf(file).exports]
      .filter(([exported, kind]) => kind === "value" && !taken?.has(exported))
      .map(([exported]) => `${name}: ${exported}`)
      .filter((entry) => !UNUSED_ALLOWED.has(entry));
  });
}
const unused = unusedExports();

const oversize = files
  .map((file) => ({ name: relative(ROOT, file), lines: readFileSync(file, "utf8").split("\n").length }))
  .filter(({ name, lines }) => layerOf(join(ROOT, name)) !== "tools" && lines > MAX_LINES);

if (cycles.length > 0) {
  console.error(`import cycles (${cycles.length}); make the shared part a module both can import:`);
  for (const cycle of cycles) console.error(`  ${cycle.map((file) => relative(ROOT, file)).join(" ↔ ")}`);
}
if (violations.length > 0) {
  console.error(`imports against the layering (${violations.length}); see docs/architecture.md:`);
  for (const violation of violations) console.error(`  ${violation}`);
}
if (unused.length > 0) {
  console.error(
    `exports nothing imports (${unused.length}); delete the code, or the \`export\` if only its module uses it:`,
  );
  for (const entry of unused) console.error(`  ${entry}`);
}
if (oversize.length > 0) {
  console.error(`source files over ${MAX_LINES} lines (${oversize.length}); split each by concept:`);
  for (const { name, lines } of oversize) console.error(`  ${name}: ${lines}`);
}
if (cycles.length > 0 || violations.length > 0 || unused.length > 0 || oversize.length > 0) process.exit(1);
console.log(
  `no import cycles, layering violations or unused exports among ${graph.size} modules; none over ${MAX_LINES} lines`,
);
