import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");

/** A throwaway project with `files`, checked by `npm run lint`'s import check; its exit code and output. */
function lint(files: Record<string, string>): { code: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "muninn-lint-"));
  made.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const run = spawnSync(
    process.execPath,
    [join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"), "tools/check-imports.ts", dir],
    {
      cwd: ROOT,
      encoding: "utf8",
    },
  );
  return { code: run.status, output: `${run.stdout}${run.stderr}` };
}

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A healthy project: the entry point takes what the domain exports. */
const HEALTHY = {
  "workers/index.ts":
    'import { greet } from "../shared/greet";\nexport default { fetch: () => new Response(greet()) };\n',
  "shared/greet.ts": 'export function greet(): string {\n  return "hi";\n}\n',
};

describe("npm run lint's import check", () => {
  it("passes a project with no cycle, no layering breach, no unused export and no oversized file", () => {
    const { code, output } = lint(HEALTHY);
    expect(output).toMatch(/no import cycles, layering violations or unused exports among 2 modules/);
    expect(code).toBe(0);
  });

  it("fails on an export nothing imports, and counts a test as an importer", () => {
    const unused = lint({
      ...HEALTHY,
      "shared/greet.ts": `${HEALTHY["shared/greet.ts"]}export const farewell = "bye";\n`,
    });
    expect(unused.code).toBe(1);
    expect(unused.output).toContain("shared/greet.ts: farewell");

    const tested = lint({
      ...HEALTHY,
      "shared/greet.ts": `${HEALTHY["shared/greet.ts"]}export const farewell = "bye";\n`,
      "test/greet.test.ts": 'import { farewell } from "../shared/greet";\nconsole.log(farewell);\n',
    });
    expect(tested.output).not.toContain("farewell");
    expect(tested.code).toBe(0);
  });

  it("fails on a source file over 450 lines outside tools/, and leaves tools/ alone", () => {
    const long = `${HEALTHY["shared/greet.ts"]}${"// a line\n".repeat(450)}`;
    const oversized = lint({ ...HEALTHY, "shared/greet.ts": long });
    expect(oversized.code).toBe(1);
    expect(oversized.output).toMatch(/shared\/greet\.ts: 454/);

    const tool = lint({ ...HEALTHY, "tools/long.ts": `${"// a line\n".repeat(500)}console.log(1);\n` });
    expect(tool.code).toBe(0);
  });

  it("fails on an import cycle and on shared/ importing workers/", () => {
    const { code, output } = lint({
      ...HEALTHY,
      "shared/greet.ts":
        'import { name } from "../workers/name";\nexport function greet(): string {\n  return name;\n}\n',
      "workers/name.ts":
        'import { greet } from "../shared/greet";\nexport const name = "x";\nexport const again = () => greet();\n',
      "workers/index.ts": 'import { again } from "./name";\nexport default { fetch: () => new Response(again()) };\n',
    });
    expect(code).toBe(1);
    expect(output).toMatch(/import cycles \(1\)[\s\S]*shared\/greet\.ts ↔ workers\/name\.ts/);
    expect(output).toMatch(/imports against the layering \(1\)[\s\S]*shared\/greet\.ts → workers\/name\.ts/);
  });

  it("fails when one lifecycle capability imports another, and lets a capability import within itself", () => {
    const capabilities = {
      ...HEALTHY,
      "workers/index.ts":
        'import { greet } from "../shared/greet";\nimport { exportAll } from "../shared/lifecycle/portability/export";\n' +
        "export default { fetch: () => new Response(greet() + exportAll()) };\n",
      "shared/lifecycle/portability/export.ts":
        'import { rows } from "./rows";\nexport function exportAll(): string {\n  return rows();\n}\n',
      "shared/lifecycle/portability/rows.ts": 'export function rows(): string {\n  return "";\n}\n',
    };
    expect(lint(capabilities).code).toBe(0);
    const crossing = lint({
      ...capabilities,
      "shared/lifecycle/portability/rows.ts":
        'import { step } from "../move/steps";\nexport function rows(): string {\n  return step();\n}\n',
      "shared/lifecycle/move/steps.ts": 'export function step(): string {\n  return "";\n}\n',
    });
    expect(crossing.code).toBe(1);
    expect(crossing.output).toMatch(/shared\/lifecycle\/portability\/rows\.ts → shared\/lifecycle\/move\/steps\.ts/);
  });
});
