import type { Client } from "@modelcontextprotocol/client";
import { beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../shared/db/client";
import { recall as recallDirect, textCandidatesStatement } from "../../shared/memory/recall";
import { skippedCannotCompete } from "../../shared/memory/recall-scoring";
import { getTenantDatabase } from "../../shared/tenants/tenants";
import { callError, callOk, connect, post } from "./mcp-support";
import { config, newTenant, openMgmtDb } from "./support";

interface Hit {
  id: string;
  rank: number;
  relevance: number;
  snippet: string;
  project: string;
}
interface Recalled {
  results: Hit[];
  note?: string;
}
interface Saved {
  results: { id: string; similar: { id: string }[] }[];
}

let client: Client;
let tenantId: string;
const ids = new Map<string, string>();

/** A new user's first twenty memories about a project, as an agent would save them. */
const PROJECT_MEMORIES: [string, string, string][] = [
  [
    "db",
    "Chose PostgreSQL over MySQL",
    "We picked PostgreSQL for the main database: JSONB, solid migrations, team experience.",
  ],
  [
    "auth",
    "Authentication via OAuth",
    "Decision: users sign in with OAuth through GitHub; sessions are signed cookies.",
  ],
  ["deploy", "Deploys go through CI", "Every merge to main deploys to staging; production needs a manual approval."],
  [
    "tests",
    "Integration tests hit a real database",
    "We decided mocks hid bugs about transactions, so tests run on a real instance.",
  ],
  ["style", "Formatting", "Biome formats the code; the line width is 120."],
  ["cache", "Response cache", "Responses for the public catalogue are cached for five minutes at the edge."],
  ["queue", "Background jobs", "Jobs run on a queue with three retries and exponential backoff."],
  ["billing", "Billing provider", "Stripe handles subscriptions; webhooks are verified and applied once."],
  ["logging", "Logs", "Logs are JSON lines; secrets are never logged, request ids always are."],
  ["i18n", "Languages", "The interface ships in English and German; strings live in locale files."],
  ["mobile", "Mobile app", "The mobile app is a thin client over the same REST API."],
  ["search", "Search engine", "Product search uses the database's full-text index, not a separate service."],
  ["images", "Image uploads", "Images are resized on upload to three sizes and stored in object storage."],
  ["email", "Transactional email", "Password resets and receipts go out through one email provider with templates."],
  ["flags", "Feature flags", "New features hide behind flags that product managers toggle without a deploy."],
  ["metrics", "Metrics", "Latency and error rates are graphed per endpoint; alerts page the on-call engineer."],
  ["backup", "Backups", "The database is backed up nightly and restores are rehearsed every quarter."],
  ["api", "API versioning", "Breaking API changes get a new version prefix; old versions live for six months."],
  ["access", "Admin access", "Only two people hold production admin access, and every use is audited."],
  ["about", "About page", "The about page lists the team and what the company is about."],
];

beforeAll(async () => {
  const { tenant, apiKey } = await newTenant("pro");
  tenantId = tenant.id;
  client = await connect(apiKey.key, "modern");
  const saved = await callOk<Saved>(client, "remember", {
    memories: PROJECT_MEMORIES.map(([, title, content]) => ({ title, content, kind: "decision", project: "app" })),
  });
  PROJECT_MEMORIES.forEach(([key], index) => {
    ids.set(key, saved.results[index]?.id ?? "");
  });
  await callOk(client, "remember", { content: "The staging cluster runs on preemptible nodes.", project: "infra" });
}, 60_000);

const recall = (args: Record<string, unknown>) => callOk<Recalled>(client, "recall", args);

describe("recall ranking", () => {
  it("finds what the text says: stemming, question words and prefixes of long words", async () => {
    const postgres = await recall({ query: "why did we pick postgres", project: "app" });
    expect(postgres.results[0]?.id).toBe(ids.get("db"));
    const auth = await recall({ query: "what did we decide about authentication", project: "app" });
    expect(auth.results[0]?.id).toBe(ids.get("auth"));
    // "about" is a stopword: the memories that share only that word are not hits at all.
    expect(auth.results.map((hit) => hit.id)).not.toContain(ids.get("about"));
    const stemmed = await recall({ query: "deploying", project: "app" });
    expect(stemmed.results[0]?.id).toBe(ids.get("deploy"));
  });

  it("gives every hit its rank and a relevance that does not depend on the other hits", async () => {
    const alone = await recall({ query: "PostgreSQL", project: "app" });
    const withOthers = await recall({ query: "PostgreSQL backups", project: "app" });
    expect(alone.results.map((hit) => hit.rank)).toEqual(alone.results.map((_, index) => index + 1));
    for (const hit of withOthers.results) {
      expect(hit.relevance).toBeGreaterThanOrEqual(0.1);
      expect(hit.relevance).toBeLessThanOrEqual(1);
    }
    // Matching one of two query words is a weaker answer than matching the only one.
    const db = ids.get("db");
    const single = alone.results.find((hit) => hit.id === db)?.relevance ?? 0;
    const half = withOthers.results.find((hit) => hit.id === db)?.relevance ?? 0;
    expect(single).toBeGreaterThan(0.5);
    expect(half).toBeLessThan(single);
  });

  it("answers an empty list with a note for a query that matches nothing real", async () => {
    const the = await recall({ query: "the", project: "app" });
    expect(the.results).toEqual([]);
    expect(the.note).toMatch(/no searchable words/);
    const nothing = await recall({ query: "kubernetes helm charts", project: "app" });
    expect(nothing.results).toEqual([]);
    expect(nothing.note).toBe("nothing in project app (nor in any other project) matches well enough");
    const elsewhere = await recall({ query: "preemptible nodes", project: "app" });
    expect(elsewhere.results).toEqual([]);
    expect(elsewhere.note).toContain("nothing in project app matches well enough; infra has matches");
    expect(elsewhere.note).toContain("leave out project to search every project");
    const everywhere = await recall({ query: "preemptible nodes", all_projects: true });
    expect(everywhere.results.map((hit) => hit.project)).toEqual(["infra"]);
  });

  it("finds the turn that answers a question next to the turn that repeats its words, in conversations only", async () => {
    const turns = [
      "Ben: How are the new flatmates?",
      "Ben: What did you end up calling the kitten?",
      "Ada: Pebble, after the beach where we found her.",
    ];
    for (const kind of ["event", "decision"]) {
      const project = `talk-${kind}`;
      const saved = await callOk<Saved>(client, "remember", {
        memories: turns.map((content) => ({ content, kind, project })),
      });
      const found = await recall({ query: "kitten calling", project, explain: true });
      const answer = saved.results[2]?.id;
      expect(found.results[0]?.id).toBe(saved.results[1]?.id);
      if (kind === "event") {
        expect(found.results.map((hit) => hit.id)).toContain(answer);
      } else {
        expect(found.results.map((hit) => hit.id)).not.toContain(answer);
      }
    }
  });

  it("finds text candidates through the full-text index alone, whatever the size of the project", async () => {
    const record = await getTenantDatabase(openMgmtDb(), config, tenantId);
    if (!record) throw new Error("no tenant database");
    const db = openDatabase(record.coordinates, config.dbTimeoutMs);
    const statement = textCandidatesStatement({ query: "why did we pick postgres", project: "app" });
    if (!statement || typeof statement === "string") throw new Error("no statement");
    const plan = (
      await db.execute({ sql: `EXPLAIN QUERY PLAN ${statement.sql}`, args: statement.args ?? [] }, "read")
    ).rows.map((row) => String(row.detail));
    // Every pass over the index is a match (the words' counts over the index and over the
    // project, the project's size, the skipping pass and the every-word pass, each word on its
    // own), and nothing walks the project's memories (the (project, status) index), which
    // would make a recall cost grow with the project.
    const scans = plan.filter((line) => /^SCAN (fts|memories_fts) VIRTUAL TABLE/.test(line));
    expect(scans).toHaveLength(5);
    for (const scan of scans) expect(scan).toMatch(/VIRTUAL TABLE INDEX \d+:M/);
    expect(plan.join("\n")).not.toMatch(/memories_project_status|SCAN m\b|SCAN memories\b(?! USING COVERING)/);
  });

  it("finds the same candidates, scores and answers when it skips scoring memories with only common words", async () => {
    const record = await getTenantDatabase(openMgmtDb(), config, tenantId);
    if (!record) throw new Error("no tenant database");
    const db = openDatabase(record.coordinates, 60_000);
    const project = "skipping";
    // 3,000 memories of 40 words from 1,000, each word in about 120 of them, and "deploy" in a fifth of them.
    let state = 7;
    const random = () => {
      state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
      return state / 2 ** 31;
    };
    const word = () => `v${Math.floor(random() * 1000)}q`;
    for (let start = 0; start < 3000; start += 500) {
      await db.batch(
        Array.from({ length: 500 }, (_, k) => {
          const i = start + k;
          const words = Array.from({ length: 40 }, word);
          if (i % 5 === 0) words[i % 40] = "deploy";
          return {
            sql: `INSERT INTO memories (id, project, kind, title, content, content_hash, tags, importance, created_at, updated_at)
                  VALUES (?, ?, 'note', ?, ?, ?, '[]', 3, ?, ?)`,
            args: [`m_skip${i}`, project, words.slice(0, 4).join(" "), words.join(" "), `skip-${i}`, i, i],
          };
        }),
        "write",
      );
    }
    // One memory made to beat rare-word matches on the common word alone: "deploy" over and over in its title.
    await db.execute(
      {
        sql: `INSERT INTO memories (id, project, kind, title, content, content_hash, tags, importance, created_at, updated_at)
              VALUES ('m_skipdeploy', ?, 'note', 'deploy deploy deploy deploy deploy', 'deploy', 'skip-deploy', '[]', 3, 1, 1)`,
        args: [project],
      },
      "write",
    );
    const commonFrom = 300;
    const outcomes = { exact: 0, askedAgain: 0, tooFewRare: 0 };
    for (let n = 0; n < 16; n++) {
      // Half the queries name one rare word, half two; every one also names the common word.
      const rare = n % 2 === 0 ? [`v${(n * 83) % 1000}q`] : [`v${(n * 83) % 1000}q`, `v${(n * 37 + 5) % 1000}q`];
      const input = { query: `deploy ${rare.join(" ")}`, project };
      const candidates = async (from: number) => {
        const statement = textCandidatesStatement(input, from);
        if (!statement || typeof statement === "string") throw new Error("no statement");
        const rows = (await db.execute(statement, "read")).rows;
        const hits = rows.filter((row) => row.bm25 !== null);
        return {
          rows,
          skipped: hits.some((row) => Number(row.pruned) === 1),
          bm25: hits.map((row) => Number(row.bm25)),
        };
      };
      const [skipping, full] = [await candidates(commonFrom), await candidates(Number.POSITIVE_INFINITY)];
      expect(full.skipped).toBe(false);
      const sorted = (values: number[]) => [...values].sort((a, b) => b - a).map((value) => value.toFixed(9));
      if (!skipping.skipped) {
        // Fewer than 100 memories hold a rare word: the statement itself scored everything.
        expect(sorted(skipping.bm25)).toEqual(sorted(full.bm25));
        outcomes.tooFewRare += 1;
      } else if (skippedCannotCompete(skipping.rows[0], Math.min(...skipping.bm25))) {
        // Provably nothing skipped could rank: the candidates and their scores are those of scoring everything.
        expect(sorted(skipping.bm25)).toEqual(sorted(full.bm25));
        outcomes.exact += 1;
      } else outcomes.askedAgain += 1;
      // Either way `recall` answers exactly what it answers without skipping.
      const answer = async (from: number) =>
        (await recallDirect(db, { ...input, limit: 20 }, 0, from)).hits.map((hit) => [hit.id, hit.relevance]);
      expect(await answer(commonFrom)).toEqual(await answer(Number.POSITIVE_INFINITY));
    }
    // All three ways were met (16 queries on this seeded corpus: 8, 5 and 3).
    expect(outcomes.exact).toBeGreaterThan(0);
    expect(outcomes.askedAgain).toBeGreaterThan(0);
    expect(outcomes.tooFewRare).toBeGreaterThan(0);
    db.close();
  });

  it("does not count being returned by recall as a use; get and link do", async () => {
    const record = await getTenantDatabase(openMgmtDb(), config, tenantId);
    if (!record) throw new Error("no tenant database");
    const db = openDatabase(record.coordinates, config.dbTimeoutMs);
    const uses = async (id: string | undefined) =>
      Number(
        (await db.execute({ sql: "SELECT access_count FROM memories WHERE id = ?", args: [id ?? ""] }, "read")).rows[0]
          ?.access_count,
      );
    const cache = ids.get("cache");
    for (let i = 0; i < 3; i++) await recall({ query: "response cache", project: "app" });
    expect(await uses(cache)).toBe(0);
    await callOk(client, "get", { ids: [cache] });
    expect(await uses(cache)).toBe(1);
    await callOk(client, "link", { from_id: cache, to_id: ids.get("queue"), relation: "relates_to" });
    expect(await uses(cache)).toBe(2);
    expect(await uses(ids.get("queue"))).toBe(1);
  });
});

describe("tools an agent can use without guessing", () => {
  it("refuses unknown arguments, naming them, instead of ignoring a typo", async () => {
    const typo = await callError(client, "recall", { querry: "postgres", project: "app" });
    expect(typo).toContain('unknown argument "querry"');
    expect(typo).toContain("query");
    const nested = await callError(client, "remember", { memories: [{ content: "x", project: "app", tagz: ["a"] }] });
    expect(nested).toContain('unknown argument "tagz"');
    // The store names fields in its own terms; the tools name them as the caller spelt them.
    const self = ids.get("db");
    expect(await callError(client, "link", { from_id: self, to_id: self, relation: "relates_to" })).toBe(
      "to_id: a memory cannot be linked to itself",
    );
    expect(await callError(client, "list", { project: "app", cursor: "nonsense" })).toBe(
      "cursor: not a cursor returned by list",
    );
    const two = await callError(client, "list", { projekt: "app", srot: "use" });
    expect(two).toContain('unknown arguments "projekt", "srot"');
  });

  it("lists only really close memories as similar", async () => {
    const near = await callOk<Saved>(client, "remember", {
      content: "We picked PostgreSQL for the main database: JSONB, solid migrations and the team's experience.",
      project: "app",
    });
    expect(near.results[0]?.similar.map((memory) => memory.id)).toEqual([ids.get("db")]);
    const related = await callOk<Saved>(client, "remember", {
      content: "The database connection pool holds twenty connections.",
      project: "app",
    });
    expect(related.results[0]?.similar).toEqual([]);
  });

  it("opens the same tracked issue from remember with kind issue as from track", async () => {
    const viaRemember = await callOk<Saved>(client, "remember", {
      content: "Exports time out for accounts with more than 10k rows.",
      title: "Slow exports",
      kind: "issue",
      project: "issues",
    });
    const viaTrack = await callOk<{ id: string }>(client, "track", {
      action: "add",
      title: "Flaky login test",
      severity: 2,
      project: "issues",
    });
    const open = await callOk<{ issues: { id: string; issue: { status: string; severity: number } }[] }>(
      client,
      "track",
      { action: "list", project: "issues" },
    );
    expect(open.issues.map((issue) => [issue.id, issue.issue.status, issue.issue.severity])).toEqual([
      [viaRemember.results[0]?.id, "open", 3],
      [viaTrack.id, "open", 2],
    ]);
    const briefing = await callOk<{ open_issues: { id: string }[] }>(client, "context", { project: "issues" });
    expect(briefing.open_issues.map((item) => item.id).sort()).toEqual(
      [viaRemember.results[0]?.id, viaTrack.id].sort(),
    );
  });

  it("lists its tools in under 20 KB, with no null type arrays, and every result described", async () => {
    const response = await post((await newTenant("pro")).apiKey.key, { jsonrpc: "2.0", id: 1, method: "tools/list" });
    const text = await response.text();
    expect(new TextEncoder().encode(text).byteLength).toBeLessThan(20 * 1024);
    expect(text).not.toMatch(/"type":\s*\[/);
    const { result } = JSON.parse(text) as {
      result: { tools: { name: string; description: string; outputSchema: { type: string } }[] };
    };
    expect(result.tools).toHaveLength(12);
    for (const tool of result.tools) expect(tool.outputSchema.type).toBe("object");
  });
});
