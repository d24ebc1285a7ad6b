import { readConfig } from "../shared/config";
import { openDatabase } from "../shared/db/client";
import { getTenantDatabase } from "../shared/tenants/tenants";
import type { BenchTarget } from "./admission";
import type { Conversation } from "./locomo";

/**
 * The second setting of `npm run bench:recall`: the same conversations in a
 * tenant that also holds `count` memories of another project. Their text is
 * the dev split's own words drawn at random in proportion to how often the
 * conversations use them (20 a memory), so they move every word's document
 * frequency across the tenant the way a big unrelated project of the same
 * language would, while answering no question. Written straight into the
 * tenant database, as `bench/mcp.ts` seeds (the FTS triggers index them as
 * the app's writes do).
 */
export async function seedOtherProject(
  target: BenchTarget,
  tenantId: string,
  conversations: Conversation[],
  count: number,
): Promise<void> {
  const words = conversations.flatMap((conversation) =>
    conversation.turns.flatMap((turn) => turn.text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? []),
  );
  const config = readConfig(target.vars);
  const record = await getTenantDatabase(openDatabase(config.mgmtDb, config.dbTimeoutMs), config, tenantId);
  if (!record) throw new Error("benchmark tenant has no database");
  const db = openDatabase(record.coordinates, 120_000);
  let state = 20_261_207;
  const random = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const now = Date.now() - 365 * 86_400_000;
  await db.execute(
    { sql: "INSERT OR IGNORE INTO projects (slug, name, created_at) VALUES ('other', 'other', ?)", args: [now] },
    "write",
  );
  for (let start = 0; start < count; start += 500) {
    const statements = [];
    for (let i = start; i < Math.min(count, start + 500); i++) {
      const text = Array.from({ length: 20 }, () => words[Math.floor(random() * words.length)]).join(" ");
      statements.push({
        sql: `INSERT INTO memories (id, project, kind, title, content, content_hash, tags, importance, created_at, updated_at)
              VALUES (?, 'other', 'note', NULL, ?, ?, '[]', 3, ?, ?)`,
        args: [`m_other${i}`, text, `other-${i}`, now + i, now + i],
      });
    }
    await db.batch(statements, "write");
  }
  db.close();
}
