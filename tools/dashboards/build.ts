/**
 * Dashboards as code: writes ops/grafana/*.json from the builders beside this
 * file (`npm run dashboards`), or with `--check` (part of `npm run lint`)
 * fails when a committed JSON differs from what the builders produce.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { repoRoot } from "../local-stack";
import { analyticsDashboard } from "./analytics";
import { serviceDashboard } from "./service";
import { tenantDashboard } from "./tenant";

const DASHBOARD_DIR = join(repoRoot, "ops/grafana");

/** Every dashboard as the file name and the JSON text Grafana imports. */
export async function renderDashboards(): Promise<Map<string, string>> {
  const analytics = await readFile(join(repoRoot, "docs/analytics.md"), "utf8");
  const dashboards = {
    "service.json": serviceDashboard(),
    "tenant.json": tenantDashboard(),
    "analytics-engine.json": analyticsDashboard(analytics),
  };
  return new Map(
    Object.entries(dashboards).map(([file, builder]) => [file, `${JSON.stringify(builder.build(), null, 2)}\n`]),
  );
}

async function main(): Promise<void> {
  const check = process.argv.includes("--check");
  const stale: string[] = [];
  for (const [file, text] of await renderDashboards()) {
    const path = join(DASHBOARD_DIR, file);
    if (!check) {
      await writeFile(path, text);
      continue;
    }
    const committed = await readFile(path, "utf8").catch(() => null);
    if (committed !== text) stale.push(`ops/grafana/${file}`);
  }
  if (stale.length > 0) {
    console.error(`stale dashboards (run \`npm run dashboards\` and commit): ${stale.join(", ")}`);
    process.exit(1);
  }
  if (!check) console.log(`wrote ${DASHBOARD_DIR}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
