/**
 * `npx tsx bench/cpu-profile.ts [case] [requests]`: where the Worker's CPU
 * goes. Starts a fresh local stack with wrangler's inspector on a free port,
 * seeds 10,000 memories as `bench/cpu.ts` does, and takes a V8 CPU profile of
 * the Worker's isolate (locally the tenant's Durable Object runs in it too)
 * while it serves `requests` of one case (default 400) at concurrency 8.
 * Prints the self time by module of the bundle (esbuild marks each module's
 * code with a `// path` comment) and the functions with the most self time,
 * as shares of the profile. Cases: noop, list, recall, recall-limit-1,
 * recall-no-hits, remember, and a signed-in console page as `console-<page>`
 * (`console-usage`, `console-keys`, …). `PROFILE_OUT=file.cpuprofile` also writes the
 * profile (open it in Chrome's DevTools).
 *
 * What it does not see: workerd's own native work (HTTP parsing, sockets,
 * the fetch to the database) is outside V8, so compare with `bench/cpu.ts`,
 * which counts the whole process. Sampling slows the Worker: read shares.
 */
import { copyFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../tools/free-port";
import { startLocalStack } from "../tools/local-stack";
import { benchTenant, noopCase } from "./admission";
import { consoleAccount } from "./console";
import { cpuSeconds, workerdPids } from "./cpu";
import { modernCall, seed, topicQuery, verify } from "./mcp";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const which = process.argv[2] ?? "recall";
const requests = Number(process.argv[3] ?? 400);
const CONCURRENCY = 8;

/** A minimal Chrome DevTools Protocol session over the inspector's WebSocket. */
async function inspector(port: number) {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error("no inspector target");
  // The inspector proxy wants an Origin from a local page (or no user agent); Node's WebSocket sends
  // a user agent, so the Origin is given (undici takes headers in its second argument).
  const socket = new WebSocket(url, { headers: { origin: "http://127.0.0.1" } } as unknown as string[]);
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("error", reject, { once: true });
  });
  let id = 0;
  const waiting = new Map<number, (result: unknown) => void>();
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: unknown };
    if (message.id !== undefined) waiting.get(message.id)?.(message.error ? { error: message.error } : message.result);
  });
  return {
    send: (method: string, params: Record<string, unknown> = {}) =>
      new Promise<unknown>((resolve) => {
        id += 1;
        waiting.set(id, resolve);
        socket.send(JSON.stringify({ id, method, params }));
      }),
    close: () => socket.close(),
  };
}

/** The module each line of the bundle belongs to, from esbuild's `// path` markers. */
async function moduleMap(url: string): Promise<(line: number) => string> {
  let text: string;
  try {
    text = await readFile(url.startsWith("file:") ? fileURLToPath(url) : url, "utf8");
  } catch {
    return () => url || "(native)";
  }
  const marks: { line: number; name: string }[] = [];
  text.split("\n").forEach((line, index) => {
    const match = /^\/\/ ((?:node_modules|shared|workers|durable-objects|bench|tools)\/\S+)$/.exec(line);
    if (match?.[1]) marks.push({ line: index, name: match[1] });
  });
  return (line) => {
    let low = 0;
    let high = marks.length - 1;
    let found = "(bundle head)";
    while (low <= high) {
      const mid = (low + high) >> 1;
      const mark = marks[mid] as { line: number; name: string };
      if (mark.line <= line) {
        found = mark.name;
        low = mid + 1;
      } else high = mid - 1;
    }
    return found;
  };
}

/** wrangler dev's bundle as the profile names it (`index.js`): the newest under .wrangler/tmp, copied while it exists. */
const bundles = new Map<string, string>();
async function keepBundle() {
  const root = join(process.cwd(), ".wrangler", "tmp");
  const dirs = await readdir(root).catch(() => [] as string[]);
  let newest: { path: string; at: number } | undefined;
  for (const dir of dirs) {
    const path = join(root, dir, "index.js");
    const at = await stat(path).then(
      (s) => s.mtimeMs,
      () => 0,
    );
    if (at > (newest?.at ?? 0)) newest = { path, at };
  }
  if (!newest) return;
  const copy = join(stateDir, "bundle.js");
  await copyFile(newest.path, copy);
  bundles.set("index.js", copy);
  if (process.env.PROFILE_OUT) await copyFile(newest.path, `${process.env.PROFILE_OUT}.bundle.js`);
}

async function summarize(profile: Profile) {
  const self = new Map<number, number>();
  profile.samples.forEach((node, index) => {
    self.set(node, (self.get(node) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const maps = new Map<string, (line: number) => string>();
  const byModule = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const node of profile.nodes) {
    const time = self.get(node.id) ?? 0;
    if (time === 0) continue;
    const { url, functionName, lineNumber } = node.callFrame;
    let map = maps.get(url);
    if (!map) {
      map = url ? await moduleMap(bundles.get(url) ?? url) : () => "(native)";
      maps.set(url, map);
    }
    const module = map(lineNumber);
    byModule.set(module, (byModule.get(module) ?? 0) + time);
    const key = `${functionName || "(anonymous)"}  ${module}:${lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + time);
  }
  // Inclusive: a sample counts once for every module on its stack (what that module's calls cost, callees included).
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const moduleOf = new Map<number, string>();
  for (const node of profile.nodes) {
    const map =
      maps.get(node.callFrame.url) ??
      (node.callFrame.url ? await moduleMap(bundles.get(node.callFrame.url) ?? node.callFrame.url) : () => "(native)");
    maps.set(node.callFrame.url, map);
    moduleOf.set(node.id, map(node.callFrame.lineNumber));
  }
  const inclusive = new Map<string, number>();
  profile.samples.forEach((leaf, index) => {
    const seen = new Set<string>();
    for (let at: number | undefined = leaf; at !== undefined; at = parent.get(at)) {
      const name = byId.get(at)?.callFrame.url ? (moduleOf.get(at) as string) : undefined;
      if (name) seen.add(name);
    }
    for (const name of seen) inclusive.set(name, (inclusive.get(name) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  const top = (map: Map<string, number>, n: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(
        ([name, time]) =>
          `${((100 * time) / total).toFixed(1).padStart(5)}%  ${(time / 1000 / requests).toFixed(3)} ms/req  ${name}`,
      )
      .join("\n");
  console.log(
    `profile: ${(total / 1000).toFixed(0)} ms sampled over ${requests} requests (${(total / 1000 / requests).toFixed(2)} ms/request)\n`,
  );
  console.log(`self time by module:\n${top(byModule, 40)}\n`);
  console.log(`inclusive time by module:\n${top(inclusive, 40)}\n`);
  console.log(`self time by function:\n${top(byFunction, 60)}`);
}

const stateDir = await mkdtemp(join(tmpdir(), "muninn-profile-"));
const inspectorPort = await freePort();
const stack = await startLocalStack({
  port: await freePort(),
  libsqlPort: await freePort(),
  stateDir,
  localTracing: false,
  inspectorPort,
});
try {
  const target = { baseUrl: stack.info.baseUrl, adminToken: stack.info.adminToken, vars: stack.vars };
  const url = `${target.baseUrl}/mcp`;
  const tenant = await benchTenant(target);
  if (which.startsWith("recall") || which === "remember") await seed(target, tenant.id, 10_000);
  let n = 0;
  const tool = (name: string, args: () => Record<string, unknown>) => () =>
    modernCall(tenant.key, "tools/call", { name, arguments: args() }, name)(url);
  const query = () => topicQuery(n++);
  const cases: Record<string, () => Promise<Response>> = {
    noop: () => noopCase(target).send(),
    list: () => modernCall(tenant.key, "tools/list", {})(url),
    recall: tool("recall", () => ({ query: query() })),
    "recall-limit-1": tool("recall", () => ({ query: query(), limit: 1 })),
    "recall-no-hits": tool("recall", () => ({ query: `zzqx${n++}` })),
    remember: tool("remember", () => ({
      content: `cpu probe memory ${n++}: the deploy went out after the cache was warmed`,
      kind: "fact",
    })),
  };
  if (which.startsWith("console-")) {
    // A signed-in console page, of an account of its own (as bench/console.ts signs in).
    const { page } = await consoleAccount(target, "profile");
    const path = `/app/${which.slice("console-".length)}`;
    cases[which] = page(path);
  }
  const send = cases[which];
  if (!send) throw new Error(`unknown case ${which} (known: ${Object.keys(cases).join(", ")})`);
  if (which !== "noop") await verify(which, send);
  for (let i = 0; i < 50; i++) await (await send()).arrayBuffer();
  // Unprofiled first: each workerd process's CPU per request (the Worker's, and wrangler's proxy in front of it).
  const run = async () => {
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < requests) {
          next += 1;
          await (await send()).arrayBuffer();
        }
      }),
    );
  };
  const pids = stack.wrangler.pid === undefined ? [] : workerdPids(stack.wrangler.pid);
  const before = pids.map((pid) => cpuSeconds([pid]));
  await run();
  const perProcess = pids.map(
    (pid, i) => `${pid}: ${(((cpuSeconds([pid]) - (before[i] ?? 0)) * 1000) / requests).toFixed(2)}`,
  );
  console.log(`workerd CPU ms/request by process, unprofiled: ${perProcess.join(", ")}\n`);
  const session = await inspector(inspectorPort);
  await session.send("Profiler.enable");
  await session.send("Profiler.setSamplingInterval", { interval: 100 });
  await session.send("Profiler.start");
  await run();
  const { profile } = (await session.send("Profiler.stop")) as { profile: Profile };
  await keepBundle();
  session.close();
  if (process.env.PROFILE_OUT) await writeFile(process.env.PROFILE_OUT, JSON.stringify(profile));
  await summarize(profile);
} finally {
  await stack.stop();
  await rm(stateDir, { recursive: true, force: true });
}
