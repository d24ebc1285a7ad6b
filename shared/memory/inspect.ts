import type { Database } from "../db/client";
import { type Attribution, parseAttribution } from "./attribution";
import { jsonArray, type LinkRelation, type Memory, rowToMemory } from "./model";

/**
 * Everything about one memory for a person looking at it in the console:
 * the memory, who wrote it, every earlier version with its author, and its
 * links with the other memory's title. A read only — looking at a memory
 * is not a use of it (`get` counts one; this does not).
 */
export interface InspectedVersion {
  version: number;
  title: string | null;
  content: string;
  tags: string[];
  importance: number;
  replacedAt: string;
  writtenBy: Attribution | null;
}

export interface InspectedLink {
  direction: "to" | "from";
  otherId: string;
  otherTitle: string | null;
  otherStatus: string | null;
  relation: LinkRelation;
  createdAt: string;
  createdBy: Attribution | null;
}

export interface InspectedMemory {
  memory: Memory;
  writtenBy: Attribution | null;
  changedBy: Attribution | null;
  versions: InspectedVersion[];
  links: InspectedLink[];
}

export async function inspectMemory(db: Database, id: string): Promise<InspectedMemory | null> {
  const [memories, versions, links] = await db.batch(
    [
      { sql: "SELECT * FROM memories WHERE id = ?", args: [id] },
      { sql: "SELECT * FROM memory_versions WHERE memory_id = ? ORDER BY version DESC", args: [id] },
      {
        sql: `SELECT l.*, o.id AS other_id, COALESCE(o.title, substr(o.content, 1, 80)) AS other_title, o.status AS other_status
              FROM memory_links l LEFT JOIN memories o ON o.id = CASE WHEN l.from_id = ? THEN l.to_id ELSE l.from_id END
              WHERE l.from_id = ? OR l.to_id = ? ORDER BY l.created_at`,
        args: [id, id, id],
      },
    ],
    "read",
  );
  const row = memories?.rows[0];
  if (!row) return null;
  return {
    memory: rowToMemory(row),
    writtenBy: parseAttribution(row.written_by),
    changedBy: parseAttribution(row.changed_by),
    versions: (versions?.rows ?? []).map((version) => ({
      version: Number(version.version),
      title: version.title == null ? null : String(version.title),
      content: String(version.content),
      tags: jsonArray(version.tags),
      importance: Number(version.importance),
      replacedAt: new Date(Number(version.replaced_at)).toISOString(),
      writtenBy: parseAttribution(version.written_by),
    })),
    links: (links?.rows ?? []).map((link) => ({
      direction: link.from_id === id ? "to" : "from",
      otherId: String(link.from_id === id ? link.to_id : link.from_id),
      otherTitle: link.other_title == null ? null : String(link.other_title),
      otherStatus: link.other_status == null ? null : String(link.other_status),
      relation: link.relation as LinkRelation,
      createdAt: new Date(Number(link.created_at)).toISOString(),
      createdBy: parseAttribution(link.created_by),
    })),
  };
}
