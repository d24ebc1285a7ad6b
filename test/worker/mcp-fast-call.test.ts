import { afterEach, describe, expect, it } from "vitest";
import { signUp } from "../../shared/accounts/signup";
import { fastToolCallsServed, setFastToolCalls } from "../../workers/mcp/fast-call";
import { TOOLS } from "../../workers/mcp/tools/registry";
import { post } from "./mcp-support";
import { config, openMgmtDb, workerFetch } from "./support";

/**
 * The 2026-era fast path for `tools/call` (workers/mcp/fast-call.ts) must
 * answer exactly as the SDK does. Two tenants with the same history get the
 * same corpus of calls in the same order: one served with the fast path,
 * the other with it switched off (so by the SDK's per-request server). Each
 * pair of answers must agree on status, headers and body; only what differs
 * between two tenants by nature is normalised (memory and session ids, the
 * times things were written, scores' last digits that move with the clock).
 */

const MODERN = "2026-07-28";
const PASSWORD = "a long enough passphrase for fast calls";

interface Tenant {
  key: string;
  readKey: string;
  /** Ids this tenant's answers produced, by the name the corpus gave them. */
  ids: Map<string, string>;
}

async function tenant(): Promise<Tenant> {
  const email = `fast-${crypto.randomUUID().slice(0, 8)}@example.test`;
  const signed = await signUp(openMgmtDb(), config, { email, password: PASSWORD, orgName: "Fast", plan: "pro" });
  const response = await workerFetch("/api/keys", {
    method: "POST",
    headers: { authorization: `Bearer ${signed.apiKey.key}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "read only", scopes: ["mcp:read"] }),
  });
  expect(response.status).toBe(201);
  const readKey = ((await response.json()) as { key: string }).key;
  return { key: signed.apiKey.key, readKey, ids: new Map() };
}

interface Call {
  what: string;
  /** Whether the fast path must take it (the rest must fall through to the SDK). */
  fast: boolean;
  tool: string;
  args?: (t: Tenant) => unknown;
  id?: string | number;
  accept?: string;
  reader?: boolean;
  headers?: Record<string, string>;
  /** Remember ids from the answer's structured content under these names. */
  keep?: (structured: Record<string, unknown>) => Record<string, string>;
}

const id = (t: Tenant, name: string) => {
  const value = t.ids.get(name);
  if (!value) throw new Error(`no id kept as ${name}`);
  return value;
};
const savedIds = (structured: Record<string, unknown>, prefix: string) =>
  Object.fromEntries(
    (structured.results as { id: string }[]).map((result, index) => [`${prefix}${index}`, result.id] as const),
  );

const CORPUS: Call[] = [
  {
    what: "remember one memory with every optional field",
    fast: true,
    tool: "remember",
    args: () => ({
      content: "We deploy with blue-green releases behind the load balancer.",
      title: "Deploy strategy",
      kind: "decision",
      project: "alpha",
      tags: ["deploy", "infra"],
      files: ["ops/deploy.sh"],
      importance: 4,
      idempotency_key: "first-save",
    }),
    keep: (s) => savedIds(s, "a"),
  },
  {
    what: "remember a batch",
    fast: true,
    tool: "remember",
    id: 'batch-é"1',
    args: () => ({
      memories: [
        { content: "Login tokens expire after an hour.", kind: "fact", project: "alpha", tags: ["login"] },
        {
          content: "The cache is warmed on deploy by a job.",
          title: "Cache warm-up",
          kind: "learning",
          project: "alpha",
          files: ["jobs/warm.ts"],
          importance: 2,
        },
      ],
    }),
    keep: (s) => savedIds(s, "b"),
  },
  {
    what: "remember repeated with its idempotency key",
    fast: true,
    tool: "remember",
    args: () => ({
      content: "We deploy with blue-green releases behind the load balancer.",
      idempotency_key: "first-save",
    }),
  },
  {
    what: "remember superseding a memory",
    fast: true,
    tool: "remember",
    args: (t) => ({ content: "We deploy with canary releases now.", project: "alpha", supersedes: id(t, "a0") }),
    keep: (s) => savedIds(s, "c"),
  },
  { what: "recall, plain", fast: true, tool: "recall", id: 0, args: () => ({ query: "deploy" }) },
  {
    what: "recall with every optional argument, SSE accept",
    fast: true,
    tool: "recall",
    id: "r-2",
    accept: "text/event-stream",
    args: () => ({
      query: "deploy cache",
      files: ["jobs/warm.ts"],
      kinds: ["decision", "learning"],
      tags: ["deploy"],
      tag_mode: "any",
      project: "alpha",
      current_project: "alpha",
      all_projects: true,
      since: "2020-01-01T00:00:00Z",
      until: "2100-01-01T00:00:00Z",
      include_superseded: true,
      include_forgotten: false,
      limit: 5,
      explain: true,
    }),
  },
  {
    what: "recall, JSON-only accept",
    fast: true,
    tool: "recall",
    accept: "application/json",
    args: () => ({ query: "login" }),
  },
  { what: "recall, no accept stated", fast: true, tool: "recall", accept: "*/*", args: () => ({ query: "token" }) },
  {
    what: "recall, an Accept naming neither",
    fast: true,
    tool: "recall",
    accept: "text/html",
    args: () => ({ query: "queue" }),
  },
  { what: "recall by a read-only key", fast: true, tool: "recall", reader: true, args: () => ({ query: "cache" }) },
  {
    what: "get, one found and one not",
    fast: true,
    tool: "get",
    args: (t) => ({ ids: [id(t, "b0"), "m_AAAAAAAAAAAAAAAA"] }),
  },
  {
    what: "update with every optional field",
    fast: true,
    tool: "update",
    args: (t) => ({
      id: id(t, "b1"),
      mode: "append",
      content: "It runs after migrations.",
      title: "Cache warm-up job",
      kind: "procedure",
      tags: ["cache"],
      files: ["jobs/warm.ts", "jobs/migrate.ts"],
      importance: 3,
    }),
  },
  { what: "update clearing a title", fast: true, tool: "update", args: (t) => ({ id: id(t, "b1"), title: null }) },
  {
    what: "update of a memory that does not exist (the tool's own error)",
    fast: true,
    tool: "update",
    args: () => ({ id: "m_AAAAAAAAAAAAAAAA", content: "nothing" }),
  },
  {
    what: "link",
    fast: true,
    tool: "link",
    args: (t) => ({ from_id: id(t, "b0"), to_id: id(t, "b1"), relation: "relates_to" }),
  },
  {
    what: "list with every filter",
    fast: true,
    tool: "list",
    args: () => ({ project: "alpha", kind: "fact", tag: "login", status: "active", sort: "importance", limit: 1 }),
  },
  {
    what: "list a page at a time",
    fast: true,
    tool: "list",
    args: () => ({ all_projects: true, sort: "recent", limit: 1 }),
    keep: (s) => ({ cursor: String(s.next_cursor) }),
  },
  {
    what: "list the next page",
    fast: true,
    tool: "list",
    args: (t) => ({ all_projects: true, limit: 1, cursor: id(t, "cursor") }),
  },
  { what: "forget softly", fast: true, tool: "forget", args: (t) => ({ ids: [id(t, "b0")], hard: false }) },
  { what: "restore", fast: true, tool: "restore", args: (t) => ({ ids: [id(t, "b0"), "m_AAAAAAAAAAAAAAAA"] }) },
  { what: "forget for good", fast: true, tool: "forget", args: (t) => ({ ids: [id(t, "c0")], hard: true }) },
  {
    what: "track add",
    fast: true,
    tool: "track",
    args: () => ({
      action: "add",
      project: "alpha",
      title: "Deploys time out",
      description: "The deploy job times out after ten minutes.",
      severity: 4,
      files: ["ops/deploy.sh"],
      tags: ["deploy"],
    }),
    keep: (s) => ({ issue: s.id as string }),
  },
  {
    what: "track resolve",
    fast: true,
    tool: "track",
    args: (t) => ({ action: "resolve", id: id(t, "issue"), resolution: "Raised the timeout." }),
  },
  { what: "track list", fast: true, tool: "track", args: () => ({ action: "list", project: "alpha", state: "all" }) },
  {
    what: "session start",
    fast: true,
    tool: "session",
    args: () => ({ action: "start", project: "alpha", goal: "Speed up deploys" }),
  },
  {
    what: "context with every argument",
    fast: true,
    tool: "context",
    args: () => ({ project: "alpha", task: "deploy", files: ["ops/deploy.sh"], max_tokens: 500 }),
  },
  {
    what: "session end",
    fast: true,
    tool: "session",
    args: () => ({ action: "end", outcome: "Deploys are faster.", next_steps: ["Watch the timings"], success: true }),
  },
  { what: "projects list", fast: true, tool: "projects", args: () => ({}) },
  {
    what: "projects create",
    fast: true,
    tool: "projects",
    args: () => ({ action: "create", project: "beta", name: "Beta" }),
  },
  {
    what: "projects rename",
    fast: true,
    tool: "projects",
    args: () => ({ action: "rename", project: "beta", new_slug: "gamma", name: "Gamma" }),
  },
  {
    what: "a tool error: duplicate project",
    fast: true,
    tool: "projects",
    args: () => ({ action: "create", project: "gamma" }),
  },
  // Everything below must fall through to the SDK.
  { what: "arguments the schema refuses", fast: false, tool: "recall", args: () => ({ limit: 500 }) },
  {
    what: "content and memories together",
    fast: false,
    tool: "remember",
    args: () => ({ content: "x", memories: [{ content: "y" }] }),
  },
  { what: "a NUL in an argument", fast: false, tool: "recall", args: () => ({ query: "a\u0000b" }) },
  { what: "no arguments at all", fast: false, tool: "projects" },
  { what: "an unknown tool", fast: false, tool: "nope", args: () => ({}) },
  {
    what: "a write tool by a read-only key",
    fast: false,
    tool: "remember",
    reader: true,
    args: () => ({ content: "x" }),
  },
  {
    what: "Mcp-Name disagreeing with the body",
    fast: false,
    tool: "recall",
    args: () => ({ query: "deploy" }),
    headers: { "mcp-name": "list" },
  },
  { what: "a fractional id", fast: false, tool: "recall", id: 1.5, args: () => ({ query: "deploy" }) },
];

function request(call: Call, t: Tenant) {
  const args = call.args?.(t);
  const body = {
    jsonrpc: "2.0",
    id: call.id ?? 7,
    method: "tools/call",
    params: {
      name: call.tool,
      ...(args !== undefined && { arguments: args }),
      _meta: {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": { name: "fast-call-test", version: "1" },
        "io.modelcontextprotocol/clientCapabilities": {},
      },
    },
  };
  const headers = {
    accept: call.accept ?? "application/json, text/event-stream",
    "mcp-protocol-version": MODERN,
    "mcp-method": "tools/call",
    "mcp-name": call.tool,
    ...call.headers,
  };
  return post(call.reader ? t.readKey : t.key, body, headers);
}

const MEMORY_ID = /\b[a-z]{1,4}_[A-Za-z0-9_-]{12,}\b/g;
const ISO_TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** What differs between two tenants by nature: ids, times and emails, and the clock's effect on scores. */
function normalised(value: unknown): unknown {
  if (typeof value === "string") {
    const text = value.replace(MEMORY_ID, "<id>").replace(ISO_TIME, "<time>").replace(UUID, "<uuid>");
    if (text.startsWith("{")) {
      try {
        return { json: normalised(JSON.parse(text)) };
      } catch {
        return text;
      }
    }
    return text;
  }
  if (typeof value === "number") return Number.isInteger(value) ? value : Number(value.toFixed(4));
  if (Array.isArray(value)) return value.map(normalised);
  if (value && typeof value === "object") {
    // A page cursor encodes the time of the page's last memory.
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [key, key === "next_cursor" ? "<cursor>" : normalised(inner)]),
    );
  }
  return value;
}

/** Headers that differ between any two requests (rate-limit and quota counters, request ids, dates). */
function answerHeaders(response: Response): [string, string][] {
  return [...response.headers].filter(
    ([name]) => !/^(x-ratelimit-|ratelimit|x-quota-remaining$|x-request-id$|date$)/.test(name),
  );
}

async function answer(response: Response) {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: response.status, headers: answerHeaders(response), body, text };
}

afterEach(() => setFastToolCalls(true));

describe("2026-era tools/call fast path", () => {
  it("covers every tool the registry exposes", () => {
    const called = new Set(CORPUS.filter((call) => call.fast).map((call) => call.tool));
    expect([...called].sort()).toEqual(TOOLS.map((tool) => tool.name).sort());
  });

  it("answers every call of the corpus exactly as the SDK does", { timeout: 120_000 }, async () => {
    const [fast, sdk] = await Promise.all([tenant(), tenant()]);
    for (const call of CORPUS) {
      setFastToolCalls(true);
      const before = fastToolCallsServed();
      const viaFast = await answer(await request(call, fast));
      const tookFast = fastToolCallsServed() > before;
      setFastToolCalls(false);
      const viaSdk = await answer(await request(call, sdk));
      expect({ call: call.what, fast: tookFast }).toEqual({ call: call.what, fast: call.fast });
      expect({ call: call.what, status: viaFast.status, headers: viaFast.headers }).toEqual({
        call: call.what,
        status: viaSdk.status,
        headers: viaSdk.headers,
      });
      expect({ call: call.what, body: normalised(viaFast.body) }).toEqual({
        call: call.what,
        body: normalised(viaSdk.body),
      });
      if (call.keep) {
        for (const [t, got] of [
          [fast, viaFast],
          [sdk, viaSdk],
        ] as const) {
          const structured = (got.body as { result: { structuredContent: Record<string, unknown> } }).result
            .structuredContent;
          for (const [name, value] of Object.entries(call.keep(structured))) t.ids.set(name, value);
        }
      }
    }
  });

  it("answers a repeated read byte for byte as the SDK does", async () => {
    const t = await tenant();
    for (const call of CORPUS.slice(0, 2)) await request(call, t);
    const recall: Call = { what: "recall", fast: true, tool: "recall", id: "same", args: () => ({ query: "deploy" }) };
    setFastToolCalls(false);
    const viaSdk = await answer(await request(recall, t));
    setFastToolCalls(true);
    const viaFast = await answer(await request(recall, t));
    expect(viaFast.status).toBe(200);
    expect(viaFast.headers).toEqual(viaSdk.headers);
    expect(viaFast.text).toBe(viaSdk.text);
  });
});
