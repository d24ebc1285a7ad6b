import { SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/server";
import { describe, expect, it } from "vitest";
import { nextAlarm } from "../../../durable-objects/tenant/next-alarm";
import { distinctWords, ftsQuery } from "../../../shared/memory/fts-query";
import { skippedCannotCompete } from "../../../shared/memory/recall-scoring";
import { SNIPPET_WORDS, snippetOf } from "../../../shared/memory/snippet";
import { DeltaFold, MetricsRecorder } from "../../../shared/metrics/recorder";
import { CredentialCache } from "../../../workers/auth/credential-cache";
import { acceptsGzip } from "../../../workers/mcp/list-cache";
import { summarize } from "../../../workers/mcp/messages";
import { toWire } from "../../../workers/mcp/tools/wire-case";

describe("ftsQuery", () => {
  it("quotes every token, so FTS5 operators and quotes in the text are plain words", () => {
    expect(ftsQuery('"NEAR(foo" -bar* AND:baz^')).toBe('"near" OR "foo" OR "bar" OR "baz"');
  });

  it("lower-cases, drops repeats and common words, and keeps the order of first appearance", () => {
    expect(ftsQuery("What is the Cache key? cache KEY, the cache")).toBe('"cache" OR "key"');
  });

  it("keeps letters and marks of any script as word characters", () => {
    expect(ftsQuery("café über — naïve")).toBe('"café" OR "über" OR "naïve"');
  });

  it("is null when the text has nothing searchable", () => {
    for (const text of ["", "   ", "?!*()", "🙂🚀", "-- ^ :"]) expect(ftsQuery(text)).toBeNull();
  });

  it("searches for at most 24 distinct words", () => {
    const words = Array.from({ length: 30 }, (_, i) => `w${i}`);
    expect(ftsQuery(words.join(" "))?.split(" OR ")).toEqual(words.slice(0, 24).map((word) => `"${word}"`));
  });
});

describe("summarize (an MCP request body before the SDK sees it)", () => {
  const call = (name: string, id: unknown = 7) => ({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name, arguments: {} },
  });

  it("names a single tool call with its id", () => {
    expect(summarize(call("recall"))).toMatchObject({
      methods: "tools/call",
      id: 7,
      tool: "recall",
      initialize: null,
      batchedRequests: [],
    });
    expect(summarize(call("recall", "abc")).id).toBe("abc");
    expect(summarize(call("recall", { not: "an id" })).id).toBeNull();
  });

  it("lists a batch's methods in order, and the requests in it other than ping", () => {
    const summary = summarize([
      { jsonrpc: "2.0", id: 1, method: "ping" },
      call("remember", 2),
      { jsonrpc: "2.0", method: "notifications/initialized" },
      "junk",
    ]);
    expect(summary).toMatchObject({ methods: "ping,tools/call,notifications/initialized", id: null, tool: null });
    expect(summary.batchedRequests).toEqual(["tools/call"]);
  });

  it("reads a 2025-era initialize: the version it will get and the client, cut to size", () => {
    const summary = summarize({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "1999-01-01",
        capabilities: {},
        clientInfo: { name: "x".repeat(500), version: "1.0" },
      },
    });
    expect(summary.initialize).toEqual({
      protocolVersion: SUPPORTED_PROTOCOL_VERSIONS[0],
      clientInfo: { name: "x".repeat(100), version: "1.0" },
    });
    const supported = SUPPORTED_PROTOCOL_VERSIONS.at(-1) as string;
    const mirrored = summarize({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: supported, capabilities: {}, clientInfo: { name: "c", version: "1" } },
    });
    expect(mirrored.initialize?.protocolVersion).toBe(supported);
  });

  it("picks up a log level and a 2026-era client name, and nothing from bodies that are not JSON-RPC", () => {
    expect(summarize({ jsonrpc: "2.0", id: 1, method: "logging/setLevel", params: { level: "debug" } }).logLevel).toBe(
      "debug",
    );
    const modern = summarize({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/list",
      params: { _meta: { "io.modelcontextprotocol/clientInfo": { name: "claude-code", version: "2" } } },
    });
    expect(modern.clientName).toBe("claude-code");
    for (const body of [null, 42, "text", {}, []]) {
      expect(summarize(body)).toMatchObject({ methods: "", id: null, tool: null, initialize: null, logLevel: null });
    }
  });
});

describe("toWire (results in snake_case)", () => {
  it("renames keys at every depth, leaves values alone and drops undefined", () => {
    expect(
      toWire({
        supersededBy: "m_1",
        nested: [{ createdAt: "t", tagList: ["camelCase stays"] }],
        skipped: undefined,
        nothing: null,
        count: 0,
      }),
    ).toEqual({
      superseded_by: "m_1",
      nested: [{ created_at: "t", tag_list: ["camelCase stays"] }],
      nothing: null,
      count: 0,
    });
  });

  it("passes primitives and arrays of primitives through", () => {
    expect(toWire("idempotencyKey")).toBe("idempotencyKey");
    expect(toWire([1, "a", null])).toEqual([1, "a", null]);
  });
});

describe("CredentialCache", () => {
  const cache = () => new CredentialCache<string>(60_000, 15 * 60_000, 3);

  it("serves an entry as fresh for the fresh period and as stale until the stale period ends", () => {
    const c = cache();
    c.set("k", "tenant", 1_000);
    expect(c.fresh("k", 1_000 + 59_999)).toBe("tenant");
    expect(c.fresh("k", 1_000 + 60_000)).toBeUndefined();
    expect(c.stale("k", 1_000 + 15 * 60_000 - 1)).toBe("tenant");
    expect(c.stale("k", 1_000 + 15 * 60_000)).toBeUndefined();
  });

  it("restarts both periods when an entry is verified again, and forgets deleted entries", () => {
    const c = cache();
    c.set("k", "old", 0);
    c.set("k", "new", 50_000);
    expect(c.fresh("k", 100_000)).toBe("new");
    c.delete("k");
    expect(c.stale("k", 100_000)).toBeUndefined();
  });

  it("drops the least recently verified entry beyond its size", () => {
    const c = cache();
    c.set("a", "A", 0);
    c.set("b", "B", 0);
    c.set("c", "C", 0);
    c.set("a", "A again", 1);
    c.set("d", "D", 2);
    expect(c.fresh("b", 3)).toBeUndefined();
    expect([c.fresh("a", 3), c.fresh("c", 3), c.fresh("d", 3)]).toEqual(["A again", "C", "D"]);
  });
});

describe("DeltaFold (a metrics shard's unwritten flushes)", () => {
  it("folds flushes into one change per series with the result of applying them one by one", () => {
    const fold = new DeltaFold();
    fold.apply(
      [
        { op: "add", series: "a", value: 2 },
        { op: "set", series: "g", value: 1 },
      ],
      100,
    );
    // Later flushes: an add after a set moves the set; a set after adds replaces them.
    fold.apply(
      [
        { op: "add", series: "a", value: 0.5 },
        { op: "add", series: "g", value: 3 },
        { op: "add", series: "b", value: 1 },
        { op: "set", series: "b", value: 7 },
      ],
      200,
    );
    expect(fold.size).toBe(3);
    expect(fold.rows("add")).toEqual([["a", 2.5, 200]]);
    expect(fold.rows("set")).toEqual([
      ["g", 4, 200],
      ["b", 7, 200],
    ]);
    fold.clear();
    expect(fold.size).toBe(0);
    expect(fold.rows("add")).toEqual([]);
  });

  it("keeps a gauge's time as the time it was last changed, not when the fold is written", () => {
    const fold = new DeltaFold();
    fold.apply([{ op: "set", series: "g", value: 1 }], 100);
    fold.apply([{ op: "add", series: "c", value: 1 }], 300);
    expect(fold.rows("set")).toEqual([["g", 1, 100]]);
  });
});

describe("skippedCannotCompete (recall's check that skipping common words was exact)", () => {
  // 1,000 memories; "deploy" in 500 of them (IDF floored to 1e-6), "cache" in 100 (IDF ln(900.5/100.5) ≈ 2.193).
  const row = (common: number[]) => ({
    total: 1000,
    counts: JSON.stringify([500, 100, 3]),
    common_words: JSON.stringify(common),
  });
  const cacheBound = Math.log(900.5 / 100.5) * 2.2;

  it("holds when the weakest kept candidate beats every skipped word at its strongest", () => {
    expect(skippedCannotCompete(row([0, 1, 0]), cacheBound + 0.01)).toBe(true);
    expect(skippedCannotCompete(row([0, 1, 0]), cacheBound - 0.01)).toBe(false);
  });

  it("adds up the skipped words and counts a word in half the memories as worth nothing", () => {
    expect(skippedCannotCompete(row([1, 0, 0]), 0.001)).toBe(true);
    expect(skippedCannotCompete(row([1, 1, 0]), cacheBound + 0.01)).toBe(true);
    expect(skippedCannotCompete(row([0, 1, 1]), cacheBound + 0.01)).toBe(false);
  });
});

describe("snippetOf", () => {
  const text =
    "Intro words that say nothing much at all here before the point. " +
    "Later we deployed the billing service to staging and it failed twice, so deploys now wait for approval. " +
    "Then more text follows about other things entirely and it goes on for a while longer still.";

  it("shows the window with the most query words, cut between words with an ellipsis", () => {
    const snippet = snippetOf(text, ["deploy", "billing"], 240);
    expect(snippet.startsWith("…")).toBe(true);
    expect(snippet.endsWith("…")).toBe(true);
    expect(snippet).toContain("deployed the billing service");
    expect(snippet.split(" ").length).toBeLessThanOrEqual(SNIPPET_WORDS);
  });

  it("keeps a short text whole, with its own punctuation, and falls back to the beginning when nothing matches", () => {
    expect(snippetOf("OAuth callback must verify state.", ["oauth"], 240)).toBe("OAuth callback must verify state.");
    expect(snippetOf(text, ["kubernetes"], 20)).toBe("Intro words that sa…");
  });

  it("matches long query words as prefixes and common English endings", () => {
    expect(snippetOf("We run PostgreSQL in production.", ["postgres"], 240)).toBe("We run PostgreSQL in production.");
    const long = `${"filler ".repeat(40)}the cities grew ${"filler ".repeat(40)}`;
    expect(snippetOf(long, ["cities"], 240)).toContain("cities");
    expect(snippetOf(long, ["city"], 240)).not.toContain("cities");
  });
});

describe("acceptsGzip", () => {
  it("reads Accept-Encoding as RFC 9110 does: named or wildcard, weight above zero", () => {
    for (const accepted of [
      "gzip",
      "br, gzip",
      "gzip, deflate, br, zstd",
      "GZIP;q=0.5",
      "x-gzip",
      "*",
      "br;q=1, *;q=0.1",
    ]) {
      expect(acceptsGzip(accepted), accepted).toBe(true);
    }
    for (const refused of [
      undefined,
      null,
      "",
      "identity",
      "br",
      "gzip;q=0",
      "gzip;q=0.000, *",
      "*;q=0",
      "deflate, br",
    ]) {
      expect(acceptsGzip(refused), String(refused)).toBe(false);
    }
  });
});

describe("MetricsRecorder histograms", () => {
  it("count each observation in every bucket it fits, per label set, with labels escaped", () => {
    const recorder = new MetricsRecorder();
    recorder.observe("db_query_duration_seconds", { target: "tenantDb" }, 0.02);
    recorder.observe("db_query_duration_seconds", { target: "tenantDb" }, 3);
    recorder.observe("http_request_duration_seconds", { route: '/a"b', method: "GET" }, 0.001);
    const deltas = new Map(recorder.drain().map((delta) => [delta.series, delta.value]));
    const db = (le: string) => deltas.get(`db_query_duration_seconds_bucket{le="${le}",target="tenantDb"}`);
    expect([db("0.005"), db("0.01"), db("0.025"), db("2.5"), db("5"), db("10"), db("+Inf")]).toEqual([
      undefined,
      undefined,
      1,
      1,
      2,
      2,
      2,
    ]);
    expect(deltas.get('db_query_duration_seconds_sum{target="tenantDb"}')).toBeCloseTo(3.02);
    expect(deltas.get('db_query_duration_seconds_count{target="tenantDb"}')).toBe(2);
    expect(deltas.get('http_request_duration_seconds_bucket{le="0.005",method="GET",route="/a\\"b"}')).toBe(1);
    expect(deltas.get('http_request_duration_seconds_count{method="GET",route="/a\\"b"}')).toBe(1);
  });
});

describe("distinctWords", () => {
  it("cuts ASCII text as it cuts any text: case folded, underscores kept, stopwords and repeats left out", () => {
    const ascii = "The Deploy_v2 went OUT; deploy_v2 again at 10:45 (it's fine)";
    expect(distinctWords(ascii)).toEqual(["deploy_v2", "went", "10", "45", "fine"]);
    // One character outside ASCII takes the Unicode path: the same words, plus its own (NFKC: "ﬁ" is "fi").
    expect(distinctWords(`${ascii} ﬁle café`)).toEqual(["deploy_v2", "went", "10", "45", "fine", "file", "café"]);
  });
});

describe("nextAlarm (the tenant object's one alarm)", () => {
  it("is the earliest deadline, none when no module has one", () => {
    expect(nextAlarm(1_000, null, 5_000, null, 3_000)).toBe(3_000);
    expect(nextAlarm(1_000, null, null)).toBeNull();
  });

  it("is never before now: an overdue deadline is due now, a time the runtime has not run yet", () => {
    expect(nextAlarm(1_000, 400, 5_000)).toBe(1_000);
    expect(nextAlarm(1_000, 1_000)).toBe(1_000);
  });
});
