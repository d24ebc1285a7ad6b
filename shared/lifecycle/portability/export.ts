import type { Row } from "@libsql/client/web";
import type { Database } from "../../db/client";
import { isoFromMillisOrNull, textOrNull } from "../../db/row-values";
import { type Attribution, parseAttribution } from "../../memory/attribution";

/**
 * Export of a tenant's memories, streamed page by page so memory use does
 * not grow with the tenant's size. JSONL (one typed record a line, the
 * format `POST /api/import` reads back) or Markdown (for people).
 * docs/lifecycle.md shows both.
 */
export const EXPORT_FORMAT = "muninn-export";
const EXPORT_VERSION = 1;

const list = (value: unknown): string[] => JSON.parse(String(value ?? "[]")) as string[];

export interface MemoryRecord {
  type: "memory";
  id: string;
  project: string;
  kind: string;
  title: string | null;
  content: string;
  tags: string[];
  files: string[];
  importance: number;
  status: string;
  supersedes: string | null;
  superseded_by: string | null;
  source: string | null;
  idempotency_key: string | null;
  version: number;
  issue: { status: string; severity: number | null; resolution: string | null; resolved_at: string | null } | null;
  created_at: string;
  updated_at: string;
  accessed_at: string | null;
  access_count: number;
  forgotten_at: string | null;
  /** Who wrote the current version and who last changed its state (`shared/memory/attribution.ts`); null: before attribution. */
  written_by: Attribution | null;
  changed_by: Attribution | null;
  versions: {
    version: number;
    title: string | null;
    content: string;
    tags: string[];
    files: string[];
    importance: number;
    replaced_at: string;
    written_by: Attribution | null;
  }[];
  links: { to_id: string; relation: string; created_at: string; created_by: Attribution | null }[];
}

export interface ProjectRecord {
  type: "project";
  slug: string;
  name: string;
  created_at: string;
}

export interface WorkSessionRecord {
  type: "work_session";
  id: string;
  project: string;
  goal: string | null;
  outcome: string | null;
  next_steps: string[];
  success: boolean | null;
  started_at: string;
  ended_at: string | null;
  started_by: Attribution | null;
  ended_by: Attribution | null;
}

export interface HeaderRecord {
  type: "header";
  format: typeof EXPORT_FORMAT;
  version: number;
  tenant_id: string;
  exported_at: string;
}

export interface FooterRecord {
  type: "footer";
  projects: number;
  memories: number;
  work_sessions: number;
}

export type ExportRecord = HeaderRecord | ProjectRecord | MemoryRecord | WorkSessionRecord | FooterRecord;

function memoryRecord(row: Row, versions: Row[], links: Row[]): MemoryRecord {
  return {
    type: "memory",
    id: String(row.id),
    project: String(row.project),
    kind: String(row.kind),
    title: textOrNull(row.title),
    content: String(row.content),
    tags: list(row.tags),
    files: list(row.files),
    importance: Number(row.importance),
    status: String(row.status),
    supersedes: textOrNull(row.supersedes),
    superseded_by: textOrNull(row.superseded_by),
    source: textOrNull(row.source),
    idempotency_key: textOrNull(row.idempotency_key),
    version: Number(row.version),
    issue:
      row.issue_status == null
        ? null
        : {
            status: String(row.issue_status),
            severity: row.severity == null ? null : Number(row.severity),
            resolution: textOrNull(row.resolution),
            resolved_at: isoFromMillisOrNull(row.resolved_at),
          },
    created_at: isoFromMillisOrNull(row.created_at) as string,
    updated_at: isoFromMillisOrNull(row.updated_at) as string,
    accessed_at: isoFromMillisOrNull(row.accessed_at),
    access_count: Number(row.access_count ?? 0),
    forgotten_at: isoFromMillisOrNull(row.forgotten_at),
    written_by: parseAttribution(row.written_by),
    changed_by: parseAttribution(row.changed_by),
    versions: versions.map((version) => ({
      version: Number(version.version),
      title: textOrNull(version.title),
      content: String(version.content),
      tags: list(version.tags),
      files: list(version.files),
      importance: Number(version.importance),
      replaced_at: isoFromMillisOrNull(version.replaced_at) as string,
      written_by: parseAttribution(version.written_by),
    })),
    links: links.map((link) => ({
      to_id: String(link.to_id),
      relation: String(link.relation),
      created_at: isoFromMillisOrNull(link.created_at) as string,
      created_by: parseAttribution(link.created_by),
    })),
  };
}

function groupBy(rows: Row[], key: string): Map<string, Row[]> {
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const value = String(row[key]);
    const group = groups.get(value);
    if (group) group.push(row);
    else groups.set(value, [row]);
  }
  return groups;
}

/**
 * Every record of the tenant, in a stable order: header, projects, memories
 * (by creation order, each with its versions and outgoing links), work
 * sessions, footer. One read round trip per page.
 */
async function* exportRecords(db: Database, tenantId: string, pageSize = 500): AsyncGenerator<ExportRecord> {
  yield {
    type: "header",
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    tenant_id: tenantId,
    exported_at: new Date().toISOString(),
  };
  const counts = { projects: 0, memories: 0, work_sessions: 0 };
  const projects = await db.execute("SELECT slug, name, created_at FROM projects ORDER BY slug", "read");
  for (const row of projects.rows) {
    counts.projects += 1;
    yield {
      type: "project",
      slug: String(row.slug),
      name: String(row.name),
      created_at: isoFromMillisOrNull(row.created_at) as string,
    };
  }

  let after = 0;
  for (;;) {
    const page = "SELECT id FROM memories WHERE seq > ? ORDER BY seq LIMIT ?";
    const [memories, versions, links] = (await db.batch(
      [
        { sql: "SELECT * FROM memories WHERE seq > ? ORDER BY seq LIMIT ?", args: [after, pageSize] },
        {
          sql: `SELECT * FROM memory_versions WHERE memory_id IN (${page}) ORDER BY memory_id, version`,
          args: [after, pageSize],
        },
        {
          sql: `SELECT * FROM memory_links WHERE from_id IN (${page}) ORDER BY from_id, to_id, relation`,
          args: [after, pageSize],
        },
      ],
      "read",
    )) as { rows: Row[] }[];
    const rows = memories?.rows ?? [];
    const versionsOf = groupBy(versions?.rows ?? [], "memory_id");
    const linksOf = groupBy(links?.rows ?? [], "from_id");
    for (const row of rows) {
      counts.memories += 1;
      yield memoryRecord(row, versionsOf.get(String(row.id)) ?? [], linksOf.get(String(row.id)) ?? []);
    }
    if (rows.length < pageSize) break;
    after = Number(rows[rows.length - 1]?.seq);
  }

  let startedAfter = "";
  for (;;) {
    const sessions = await db.execute(
      {
        sql: "SELECT * FROM work_sessions WHERE id > ? ORDER BY id LIMIT ?",
        args: [startedAfter, pageSize],
      },
      "read",
    );
    for (const row of sessions.rows) {
      counts.work_sessions += 1;
      yield {
        type: "work_session",
        id: String(row.id),
        project: String(row.project),
        goal: textOrNull(row.goal),
        outcome: textOrNull(row.outcome),
        next_steps: list(row.next_steps),
        success: row.success == null ? null : Number(row.success) === 1,
        started_at: isoFromMillisOrNull(row.started_at) as string,
        ended_at: isoFromMillisOrNull(row.ended_at),
        started_by: parseAttribution(row.started_by),
        ended_by: parseAttribution(row.ended_by),
      };
    }
    if (sessions.rows.length < pageSize) break;
    startedAfter = String(sessions.rows[sessions.rows.length - 1]?.id);
  }
  yield { type: "footer", ...counts };
}

/** One record as Markdown: a heading per memory, its metadata on one line, then the text. */
function markdownOf(record: ExportRecord): string {
  switch (record.type) {
    case "header":
      return `# Muninn export\n\nTenant \`${record.tenant_id}\`, exported ${record.exported_at} (format ${record.format} v${record.version}).\n\n`;
    case "project":
      return "";
    case "memory": {
      const meta = [
        `id \`${record.id}\``,
        `project ${record.project}`,
        record.kind,
        record.status,
        `importance ${record.importance}`,
        `created ${record.created_at}`,
        ...(record.tags.length ? [`tags: ${record.tags.join(", ")}`] : []),
        ...(record.files.length ? [`files: ${record.files.join(", ")}`] : []),
        ...(record.issue ? [`issue ${record.issue.status}, severity ${record.issue.severity ?? "-"}`] : []),
      ].join(" · ");
      const links = record.links.map((link) => `- ${link.relation} \`${link.to_id}\``).join("\n");
      const history = record.versions.length
        ? `\n_${record.versions.length} earlier version(s) in the JSONL export._\n`
        : "";
      return `## ${record.title ?? record.content.split("\n")[0]?.slice(0, 80) ?? record.id}\n\n${meta}\n\n${record.content}\n${links ? `\n${links}\n` : ""}${history}\n`;
    }
    case "work_session":
      return `## Work session ${record.started_at} (${record.project})\n\n${[
        record.goal && `Goal: ${record.goal}`,
        record.outcome && `Outcome: ${record.outcome}`,
        ...record.next_steps.map((step) => `- next: ${step}`),
      ]
        .filter(Boolean)
        .join("\n")}\n\n`;
    case "footer":
      return `---\n\n${record.memories} memories, ${record.work_sessions} work sessions, ${record.projects} projects.\n`;
  }
}

/**
 * The export as a byte stream: each record is produced when the reader
 * pulls, so at most one page of memories is held at a time.
 */
export function exportStream(db: Database, tenantId: string, format: "jsonl" | "markdown"): ReadableStream<Uint8Array> {
  const records = exportRecords(db, tenantId);
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        // Pull whole pages' worth of lines per chunk rather than one line per pull.
        let chunk = "";
        while (chunk.length < 64 * 1024) {
          const next = await records.next();
          if (next.done) {
            if (chunk) controller.enqueue(encoder.encode(chunk));
            controller.close();
            return;
          }
          chunk += format === "jsonl" ? `${JSON.stringify(next.value)}\n` : markdownOf(next.value);
        }
        controller.enqueue(encoder.encode(chunk));
      },
      async cancel() {
        await records.return(undefined);
      },
    },
    { highWaterMark: 1 },
  );
}
