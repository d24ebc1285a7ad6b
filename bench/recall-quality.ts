/**
 * How often `recall` finds the evidence for a question: LoCoMo conversations
 * are saved turn by turn, every scored question is asked verbatim, and a
 * question counts as found at k when any of its evidence turns is among the
 * first k results. The same questions go to a flat BM25 baseline (SQLite
 * FTS5 over the same turn texts, an OR of the question's non-stopword words,
 * `bm25()` order) so the table compares both on one run.
 */
import { createClient } from "@libsql/client";
import { CATEGORIES, type Conversation, type Turn, turnContent } from "./locomo";

/** The two operations the benchmark needs, over MCP or over the baseline's own index. */
export interface MemoryClient {
  /** Save the turns of one conversation in `project`, in order; the saved memories' ids, in the same order. */
  remember(project: string, turns: Turn[]): Promise<string[]>;
  /** The ids of the first `limit` memories `recall` answers for `query` in `project`. */
  recall(project: string, query: string, limit: number): Promise<string[]>;
}

export interface Score {
  questions: number;
  at5: number;
  at10: number;
}

export interface QualityReport {
  byCategory: Map<number, Score>;
  overall: Score;
  /** Milliseconds per recall, sorted. */
  latencies: number[];
}

/** A project slug for a conversation (lowercase letters, digits, '-'). */
function projectFor(conversation: Conversation): string {
  return `locomo-${conversation.name.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`.slice(0, 64);
}

export async function evaluate(client: MemoryClient, conversations: Conversation[]): Promise<QualityReport> {
  const byCategory = new Map<number, Score>();
  const overall: Score = { questions: 0, at5: 0, at10: 0 };
  const latencies: number[] = [];
  for (const conversation of conversations) {
    const project = projectFor(conversation);
    const ids = await client.remember(project, conversation.turns);
    const turnOf = new Map(ids.map((id, index) => [id, conversation.turns[index]?.diaId]));
    for (const question of conversation.questions) {
      const started = performance.now();
      const found = await client.recall(project, question.question, 10);
      latencies.push(performance.now() - started);
      const evidence = new Set(question.evidence);
      const rankOfFirst = found.findIndex((id) => evidence.has(turnOf.get(id) ?? ""));
      const score = byCategory.get(question.category) ?? { questions: 0, at5: 0, at10: 0 };
      byCategory.set(question.category, score);
      for (const tally of [score, overall]) {
        tally.questions += 1;
        if (rankOfFirst >= 0 && rankOfFirst < 5) tally.at5 += 1;
        if (rankOfFirst >= 0) tally.at10 += 1;
      }
    }
  }
  latencies.sort((a, b) => a - b);
  return { byCategory, overall, latencies };
}

/**
 * A common English stopword list (articles, pronouns, auxiliaries, question
 * words): what a "flat" keyword search would leave out. It belongs to the
 * baseline only; `recall` has its own list.
 */
const BASELINE_STOPWORDS = new Set(
  (
    "a about above after again against all am an and any are as at be because been before being below between both " +
    "but by can could did do does doing down during each few for from further had has have having he her here hers " +
    "herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off on " +
    "once only or other our ours ourselves out over own same she should so some such than that the their theirs them " +
    "themselves then there these they this those through to too under until up very was we were what when where " +
    "which while who whom why will with would you your yours yourself yourselves"
  ).split(" "),
);

/** The flat BM25 baseline: one FTS5 table per run, in memory, no stemming, no re-ranking. */
export async function flatBm25Client(): Promise<MemoryClient & { close(): void }> {
  const db = createClient({ url: ":memory:", intMode: "number" });
  await db.execute("CREATE VIRTUAL TABLE turns USING fts5(project UNINDEXED, content)");
  let next = 0;
  return {
    async remember(project, turns) {
      const ids = turns.map(() => String(++next));
      await db.batch(
        turns.map((turn, index) => ({
          sql: "INSERT INTO turns (rowid, project, content) VALUES (?, ?, ?)",
          args: [Number(ids[index]), project, turnContent(turn)],
        })),
        "write",
      );
      return ids;
    },
    async recall(project, query, limit) {
      const words = [...new Set(query.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [])].filter(
        (word) => !BASELINE_STOPWORDS.has(word),
      );
      if (words.length === 0) return [];
      const result = await db.execute({
        sql: "SELECT rowid FROM turns WHERE turns MATCH ? AND project = ? ORDER BY bm25(turns) LIMIT ?",
        args: [words.map((word) => `"${word}"`).join(" OR "), project, limit],
      });
      return result.rows.map((row) => String(row.rowid));
    },
    close: () => db.close(),
  };
}

/** JSON-RPC `tools/call` against a running Worker's `/mcp` (2026 era, no session), answering structured content. */
function mcpToolCaller(baseUrl: string, key: string) {
  const meta = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": { name: "recall-bench", version: "1" },
    "io.modelcontextprotocol/clientCapabilities": {},
  };
  return async (name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const response = await fetch(`${baseUrl}/mcp`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${key}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/call",
        "mcp-name": name,
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name, arguments: args, _meta: meta },
      }),
    });
    const body = (await response.json()) as {
      result?: { isError?: boolean; structuredContent?: Record<string, unknown>; content?: { text: string }[] };
      error?: unknown;
    };
    if (!response.ok || !body.result || body.result.isError || !body.result.structuredContent) {
      throw new Error(`${name}: ${response.status} ${JSON.stringify(body).slice(0, 400)}`);
    }
    return body.result.structuredContent;
  };
}

/**
 * `recall` and `remember` over MCP, saving each turn as a client recording a
 * conversation would; `scope` "current" asks across every project with the
 * conversation's as `current_project` rather than in that project only.
 */
export function mcpMemoryClient(
  baseUrl: string,
  key: string,
  batch = 50,
  scope: "project" | "current" = "project",
): MemoryClient {
  const call = mcpToolCaller(baseUrl, key);
  return {
    async remember(project, turns) {
      const ids: string[] = [];
      for (let start = 0; start < turns.length; start += batch) {
        const memories = turns.slice(start, start + batch).map((turn) => ({
          content: turnContent(turn),
          kind: "event",
          project,
        }));
        const answer = (await call("remember", { memories })) as { results: { id: string }[] };
        ids.push(...answer.results.map((result) => result.id));
      }
      return ids;
    },
    async recall(project, query, limit) {
      const where = scope === "current" ? { current_project: project } : { project };
      const answer = (await call("recall", { query, ...where, limit })) as { results: { id: string }[] };
      return answer.results.map((result) => result.id);
    },
  };
}

const fixed = (value: number) => value.toFixed(3);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** The Markdown table: recall@5 and @10 per category and overall, `recall` next to the baseline. */
export function formatQuality(recall: QualityReport, baseline: QualityReport): string {
  const row = (label: string, ours: Score, flat: Score) =>
    `| ${label} | ${ours.questions} | ${fixed(ours.at5 / ours.questions)} | ${fixed(flat.at5 / flat.questions)} | ` +
    `${fixed(ours.at10 / ours.questions)} | ${fixed(flat.at10 / flat.questions)} | ` +
    `${(ours.at10 / ours.questions - flat.at10 / flat.questions >= 0 ? "+" : "") + fixed(ours.at10 / ours.questions - flat.at10 / flat.questions)} |`;
  const lines = [
    "### Recall quality (LoCoMo)",
    "",
    "| category | questions | recall@5 | BM25 @5 | recall@10 | BM25 @10 | Δ@10 |",
    "|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const [category, label] of Object.entries(CATEGORIES)) {
    const ours = recall.byCategory.get(Number(category));
    const flat = baseline.byCategory.get(Number(category));
    if (ours && flat) lines.push(row(`${category} ${label}`, ours, flat));
  }
  lines.push(row("**overall**", recall.overall, baseline.overall));
  lines.push(
    "",
    `recall latency over MCP: p50 ${percentile(recall.latencies, 50).toFixed(1)} ms, ` +
      `p95 ${percentile(recall.latencies, 95).toFixed(1)} ms (${recall.latencies.length} questions)`,
  );
  return lines.join("\n");
}

/** recall@10 of `recall` minus the baseline's, overall. */
export function gain(recall: QualityReport, baseline: QualityReport): number {
  return recall.overall.at10 / recall.overall.questions - baseline.overall.at10 / baseline.overall.questions;
}
