/**
 * `recall` on LoCoMo conversations in this process, over a local SQLite file
 * migrated like a tenant database: no Worker and no HTTP, so the same
 * questions can be asked under many settings of the ranking's parameters in
 * the time the MCP run takes once. `npm run bench:recall` uses it for the
 * leave-one-conversation-out figure (`recall-holdout.ts`).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import type { Database } from "../shared/db/client";
import { migrate } from "../shared/db/migrate";
import { recall } from "../shared/memory/recall";
import type { RecallTuning } from "../shared/memory/recall-levers";
import { remember } from "../shared/memory/remember";
import { tenantMigrations } from "../shared/migrations/tenant";
import { type Conversation, turnContent } from "./locomo";

/** One question's outcome: its conversation, category and the rank (0-based) of its first evidence turn, or -1. */
export interface Outcome {
  conversation: string;
  category: number;
  rank: number;
}

export interface LocalCorpus {
  /** Every scored question of every conversation answered under `tuning`, in order. */
  ask(tuning?: Partial<RecallTuning>, limit?: number): Promise<Outcome[]>;
  close(): Promise<void>;
}

const projectOf = (conversation: Conversation) =>
  `locomo-${conversation.name.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`.slice(0, 64);

/** Save the conversations turn by turn (kind `event`, one project each) in a fresh local database. */
export async function localCorpus(conversations: Conversation[]): Promise<LocalCorpus> {
  const dir = await mkdtemp(join(tmpdir(), "muninn-recall-local-"));
  const client = createClient({ url: `file:${join(dir, "tenant.db")}`, intMode: "number" });
  const db: Database = {
    execute: (statement) => client.execute(statement),
    batch: (statements, intent) => client.batch(statements, intent),
  };
  await migrate(db, tenantMigrations);
  const turnOf = new Map<string, string>();
  const start = Date.now();
  for (const conversation of conversations) {
    const project = projectOf(conversation);
    for (let at = 0; at < conversation.turns.length; at += 50) {
      const turns = conversation.turns.slice(at, at + 50);
      const saved = await remember(
        db,
        turns.map((turn) => ({ content: turnContent(turn), kind: "event" as const, project })),
        start + at,
      );
      for (const [index, memory] of saved.entries()) turnOf.set(memory.id, turns[index]?.diaId ?? "");
    }
  }
  return {
    async ask(tuning, limit = 10) {
      const outcomes: Outcome[] = [];
      for (const conversation of conversations) {
        const project = projectOf(conversation);
        for (const question of conversation.questions) {
          const { hits } = await recall(
            db,
            { query: question.question, project, limit },
            Date.now(),
            undefined,
            tuning,
          );
          const evidence = new Set(question.evidence);
          outcomes.push({
            conversation: conversation.name,
            category: question.category,
            rank: hits.findIndex((hit) => evidence.has(turnOf.get(hit.id) ?? "")),
          });
        }
      }
      return outcomes;
    },
    async close() {
      client.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
