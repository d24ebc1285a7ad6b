import type { Database } from "../db/client";
import { clip, DEFAULT_PROJECT, estimateTokens, type Memory, rowToMemory } from "./model";
import { type RecallHit, recall } from "./recall";
import { resultAt } from "./sql";
import { latestWorkSession, type WorkSession } from "./work-sessions";

export interface BriefingInput {
  project?: string;
  /** What the assistant is about to do; adds the memories most relevant to it. */
  task?: string;
  files?: string[];
  /** Upper bound on the briefing's size, in (estimated) tokens. */
  maxTokens?: number;
}

export interface BriefingItem {
  id: string;
  kind: string;
  title: string | null;
  text: string;
  importance: number;
  updatedAt: string;
}

export interface Briefing {
  project: string;
  /** Without who started and ended it: the briefing's budget is for the work, and `session` answers say who. */
  lastSession: Omit<WorkSession, "startedBy" | "endedBy"> | null;
  relevant: BriefingItem[];
  openIssues: (BriefingItem & { severity: number | null })[];
  important: BriefingItem[];
  recentDecisions: BriefingItem[];
  recentLearnings: BriefingItem[];
  tokens: number;
  truncated: boolean;
  markdown: string;
}

const ITEM_CHARS = 600;

function toItem(memory: Memory): BriefingItem {
  return {
    id: memory.id,
    kind: memory.kind,
    title: memory.title,
    text: clip(memory.content, ITEM_CHARS),
    importance: memory.importance,
    updatedAt: memory.updatedAt,
  };
}

function hitToItem(hit: RecallHit): BriefingItem {
  return {
    id: hit.id,
    kind: hit.kind,
    title: hit.title,
    text: hit.snippet,
    importance: hit.importance,
    updatedAt: hit.updatedAt,
  };
}

function line(item: BriefingItem): string {
  return `- ${item.title ? `**${item.title}** — ` : ""}${item.text} (${item.id})`;
}

/**
 * A session-start briefing: where the last work session left off, memories
 * relevant to the task, open issues, the most important memories and recent
 * decisions and learnings — in that order of priority, each section filled
 * until the token budget runs out. One read batch plus the optional search.
 */
export async function buildBriefing(db: Database, input: BriefingInput): Promise<Briefing> {
  const project = input.project ?? DEFAULT_PROJECT;
  const budget = input.maxTokens ?? 2000;
  const [sections, lastSession, relevant] = await Promise.all([
    db.batch(
      [
        {
          sql: `SELECT * FROM memories WHERE project = ? AND status = 'active' AND kind = 'issue' AND issue_status = 'open'
                ORDER BY severity DESC, updated_at DESC LIMIT 10`,
          args: [project],
        },
        {
          sql: `SELECT * FROM memories WHERE project = ? AND status = 'active' AND importance >= 4 AND kind != 'issue'
                ORDER BY importance DESC, updated_at DESC LIMIT 10`,
          args: [project],
        },
        {
          sql: `SELECT * FROM memories WHERE project = ? AND status = 'active' AND kind = 'decision'
                ORDER BY updated_at DESC LIMIT 5`,
          args: [project],
        },
        {
          sql: `SELECT * FROM memories WHERE project = ? AND status = 'active' AND kind = 'learning'
                ORDER BY updated_at DESC LIMIT 5`,
          args: [project],
        },
      ],
      "read",
    ),
    latestWorkSession(db, project).then((session) => {
      if (!session) return null;
      const { startedBy: _startedBy, endedBy: _endedBy, ...work } = session;
      return work;
    }),
    input.task || (input.files && input.files.length > 0)
      ? recall(db, { query: input.task, files: input.files, project, limit: 5 }).then((result) => result.hits)
      : Promise.resolve([]),
  ]);
  // In the order the batch above lists its statements.
  const openIssues = resultAt(sections, 0);
  const important = resultAt(sections, 1);
  const decisions = resultAt(sections, 2);
  const learnings = resultAt(sections, 3);

  let tokens = 0;
  let truncated = false;
  const seen = new Set<string>();
  const take = <T extends BriefingItem>(items: T[]): T[] => {
    const kept: T[] = [];
    for (const item of items) {
      if (seen.has(item.id)) continue;
      const cost = estimateTokens(line(item));
      if (tokens + cost > budget) {
        truncated = true;
        break;
      }
      tokens += cost;
      seen.add(item.id);
      kept.push(item);
    }
    return kept;
  };

  if (lastSession) tokens += estimateTokens(JSON.stringify(lastSession));
  const briefing = {
    project,
    lastSession,
    relevant: take(relevant.map(hitToItem)),
    openIssues: take(
      openIssues.rows
        .map(rowToMemory)
        .map((memory) => ({ ...toItem(memory), severity: memory.issue?.severity ?? null })),
    ),
    important: take(important.rows.map(rowToMemory).map(toItem)),
    recentDecisions: take(decisions.rows.map(rowToMemory).map(toItem)),
    recentLearnings: take(learnings.rows.map(rowToMemory).map(toItem)),
  };
  return { ...briefing, tokens, truncated, markdown: renderMarkdown(briefing) };
}

function renderMarkdown(briefing: Omit<Briefing, "tokens" | "truncated" | "markdown">): string {
  const parts = [`# Briefing: ${briefing.project}`];
  const session = briefing.lastSession;
  if (session) {
    parts.push(
      "## Last work session",
      [
        session.goal ? `Goal: ${session.goal}` : null,
        session.outcome ? `Outcome: ${session.outcome}` : session.endedAt ? null : "Still open.",
        ...session.nextSteps.map((step) => `- [ ] ${step}`),
      ]
        .filter(Boolean)
        .join("\n"),
    );
  }
  const section = (title: string, items: BriefingItem[]) => {
    if (items.length > 0) parts.push(`## ${title}`, items.map(line).join("\n"));
  };
  section("Relevant to the task", briefing.relevant);
  section("Open issues", briefing.openIssues);
  section("Important", briefing.important);
  section("Recent decisions", briefing.recentDecisions);
  section("Recent learnings", briefing.recentLearnings);
  if (parts.length === 1) parts.push("Nothing remembered for this project yet.");
  return parts.join("\n\n");
}
