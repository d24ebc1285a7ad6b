/**
 * The web console: how long a signed-in page takes next to `GET /api/me` (an
 * authenticated, admitted request with a small answer) in the same
 * interleaved rounds, and what every page weighs compressed (HTML, the
 * stylesheet and the script, gzip as a browser receives them).
 */
import { gzipSync } from "node:zlib";
import { signUp } from "../shared/accounts/signup";
import { readConfig } from "../shared/config";
import { openDatabase } from "../shared/db/client";
import {
  admittedCase,
  type BenchRow,
  type BenchTarget,
  formatRange,
  measureRounds,
  noopCase,
  raiseLimit,
  ratioRange,
  roundRatio,
} from "./admission";
import { type CpuRow, cpuOverBaseline, stackProcesses } from "./cpu";

const PAGE_BUDGET_BYTES = 60 * 1024;
const PASSWORD = "a benchmark passphrase of some length";
const PAGES = [
  "/",
  "/signup",
  "/signin",
  "/forgot",
  "/app/connect",
  "/app/memories",
  "/app/memories/issues",
  "/app/keys",
  "/app/apps",
  "/app/usage",
  "/app/billing",
  "/app/data",
  "/app/settings",
];
const ASSETS = ["/assets/console.css", "/assets/console.js"];

/** Sign in through the form, as a browser does; returns the Cookie header of the session. */
async function signedInCookie(baseUrl: string, email: string): Promise<string> {
  const form = await fetch(`${baseUrl}/signin`);
  const presession = form.headers
    .getSetCookie()
    .map((line) => line.split(";")[0])
    .join("; ");
  const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? "";
  const answer = await fetch(`${baseUrl}/signin`, {
    method: "POST",
    redirect: "manual",
    headers: { cookie: presession, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ csrf, email, password: PASSWORD }),
  });
  const session = answer.headers.getSetCookie().find((line) => line.startsWith("__Host-muninn-session="));
  if (answer.status !== 303 || !session) throw new Error(`console sign-in failed (${answer.status})`);
  return session.split(";")[0] as string;
}

export interface ConsoleBench {
  rows: BenchRow[];
  sizes: { path: string; bytes: number }[];
  /** Worker CPU per request of the same cases (bench/cpu.ts), null where /proc cannot tell. */
  cpu: CpuRow[] | null;
}

/**
 * A console account of a benchmark's own: signed up (team plan), its limit
 * raised out of reach as `benchTenant`'s is, and signed in through the form;
 * `page(path)` fetches a console page with its session.
 */
export async function consoleAccount(
  target: BenchTarget,
  tag: string,
): Promise<{ tenantId: string; key: string; page: (path: string) => () => Promise<Response> }> {
  const config = readConfig(target.vars);
  const email = `bench-${tag}-${Date.now()}@muninn.local`;
  const created = await signUp(openDatabase(config.mgmtDb, config.dbTimeoutMs), config, {
    email,
    password: PASSWORD,
    orgName: `Benchmark ${tag}`,
    plan: "team",
  });
  await raiseLimit(target, created.tenant.id);
  const cookie = await signedInCookie(target.baseUrl, email);
  return {
    tenantId: created.tenant.id,
    key: created.apiKey.key,
    page: (path) => () => fetch(`${target.baseUrl}${path}`, { headers: { cookie } }),
  };
}

export async function benchConsole(target: BenchTarget, wranglerPid?: number): Promise<ConsoleBench> {
  const { key, page } = await consoleAccount(target, "console");

  // A month with traffic in it, so the usage page draws bars, points and tables as it would for a customer.
  for (let i = 0; i < 20; i++) {
    await fetch(`${target.baseUrl}/api/me`, { headers: { authorization: `Bearer ${key}` } });
  }

  const assetBytes = (
    await Promise.all(
      ASSETS.map(async (path) => gzipSync(await (await fetch(`${target.baseUrl}${path}`)).text()).length),
    )
  ).reduce((a, b) => a + b, 0);
  const sizes = [];
  for (const path of PAGES) {
    // Pages for people signed out are fetched signed out (signed in, they redirect to /app/connect).
    const html = await (await (path.startsWith("/app/") ? page(path)() : fetch(`${target.baseUrl}${path}`))).text();
    sizes.push({ path, bytes: gzipSync(html).length + assetBytes });
  }

  const cases = [
    noopCase(target),
    admittedCase(target, key, "authenticated + admitted (GET /api/me)"),
    { name: "console page, signed in (GET /app/keys)", send: page("/app/keys"), expectStatus: 200 },
    { name: "console page, signed in (GET /app/usage)", send: page("/app/usage"), expectStatus: 200 },
    {
      name: "console page, signed out (GET /signin)",
      send: () => fetch(`${target.baseUrl}/signin`),
      expectStatus: 200,
    },
  ];
  const rows = await measureRounds(cases);
  // Where a page's time goes on this machine: at concurrency 8 on a few cores the Worker's process is
  // busy, so a page's latency follows its CPU more than its database round trip's wall time.
  const processes = stackProcesses(target, wranglerPid);
  const cpu = processes ? await cpuOverBaseline(processes, cases) : null;
  return { rows, sizes, cpu };
}

/** The console's goals against this run's own figures. */
export function consoleGoals({ rows, sizes, cpu }: ConsoleBench): { table: string; ok: boolean } {
  const me = rows.find((row) => row.name.startsWith("authenticated + admitted"));
  const lines: string[] = [];
  let ok = true;
  for (const row of rows.filter((candidate) => candidate.name.startsWith("console page"))) {
    const a = row.roundP50s;
    const b = me?.roundP50s ?? [Number.NaN];
    const ratio = roundRatio(a, b);
    const met = ratio <= 1.5;
    ok &&= met;
    lines.push(
      `| ${row.name} p50 ≤ 1.5× GET /api/me | ${ratio.toFixed(2)}× | ${formatRange(ratioRange(a, b))} | ${met ? "met" : "MISSED"} |`,
    );
  }
  const heaviest = sizes.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const light = heaviest.bytes < PAGE_BUDGET_BYTES;
  ok &&= light;
  lines.push(
    `| every page < 60 KB compressed (HTML + CSS + JS); heaviest ${heaviest.path} | ${(heaviest.bytes / 1024).toFixed(1)} KB | | ${light ? "met" : "MISSED"} |`,
  );
  const sizeRows = sizes.map((size) => `| ${size.path} | ${(size.bytes / 1024).toFixed(1)} KB |`);
  return {
    ok,
    table: [
      "### Console goals",
      "",
      "| goal | this run | rounds | |",
      "|---|---:|---:|---|",
      ...lines,
      "",
      "| page | gzip, with CSS and JS |",
      "|---|---:|",
      ...sizeRows,
      "",
      ...cpuLines(cpu),
    ].join("\n"),
  };
}

/** The same cases' Worker CPU (the Worker's workerd process, the tenant's object included): what a page costs. */
function cpuLines(cpu: CpuRow[] | null): string[] {
  if (!cpu) return ["Worker CPU per request: not measured (needs Linux's /proc and the stack's workerd process)."];
  const me = cpu.find((row) => row.name.startsWith("authenticated + admitted"))?.msPerRequest ?? Number.NaN;
  return [
    "| case | Worker CPU ms / request | over the no-op | over GET /api/me |",
    "|---|---:|---:|---:|",
    ...cpu.map(
      (row) =>
        `| ${row.name} | ${row.msPerRequest} | ${row.overNoop} | ${row.name.startsWith("console page") ? (row.msPerRequest - me).toFixed(2) : ""} |`,
    ),
  ];
}
