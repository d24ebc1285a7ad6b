import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { TEXT_LIMITS } from "../../memory/fields";
import { LINK_RELATIONS, MEMORY_KINDS, MEMORY_STATUSES } from "../../memory/model";
import { hasRefusedControl } from "../../text";
import { EXPORT_FORMAT, type MemoryRecord, type ProjectRecord, type WorkSessionRecord } from "./export";

/**
 * Parsers for what `POST /api/import` accepts. Each turns its input into
 * one plan: memories to create (with the line they came from), links
 * between them, projects and work sessions, and the lines that could not be
 * read. Nothing here touches a database.
 */
export type ImportFormat = "muninn" | "knowledge-graph" | "markdown";

export interface PlannedMemory {
  /** 1-based line (JSONL) or the heading's line (Markdown); `file` names the note for Markdown. */
  line: number;
  file?: string;
  /** Our own export keeps ids, times and history; foreign formats get new ones. */
  record: Omit<MemoryRecord, "type" | "links" | "id"> & { id: string | null };
  /** Name the knowledge graph knows this memory by, to resolve its relations. */
  entity?: string;
}

export interface PlannedLink {
  line: number;
  /** Memory ids (our export) or entity names (knowledge graph), resolved at import. */
  from: string;
  to: string;
  relation: string;
  createdAt: string | null;
  byEntity: boolean;
}

export interface LineProblem {
  line: number;
  file?: string;
  status: "skipped" | "failed";
  reason: string;
}

export interface ImportPlan {
  format: ImportFormat;
  memories: PlannedMemory[];
  links: PlannedLink[];
  projects: (ProjectRecord & { line: number })[];
  workSessions: (WorkSessionRecord & { line: number })[];
  problems: LineProblem[];
}

/** The model's kinds, relations and statuses, as sets for checking what a file says. */
const KNOWN_KINDS: ReadonlySet<string> = new Set(MEMORY_KINDS);
const KNOWN_RELATIONS: ReadonlySet<string> = new Set(LINK_RELATIONS);
const KNOWN_STATUSES: ReadonlySet<string> = new Set(MEMORY_STATUSES);

function emptyPlan(format: ImportFormat): ImportPlan {
  return { format, memories: [], links: [], projects: [], workSessions: [], problems: [] };
}

/**
 * A knowledge-graph entity's identity in its source, name and type, as the
 * memory's idempotency key: importing the graph again finds the memory by it
 * and updates it, rather than saving a second one. A key the field would
 * refuse (too long, or with control characters) is the identity's hash,
 * the same on every import.
 */
function entityKey(name: string, entityType: string): string {
  const key = `kg:${entityType}:${name}`;
  if (key.length <= TEXT_LIMITS.idempotencyKeyChars && !hasRefusedControl(key, "line")) return key;
  return `kg:sha256:${bytesToHex(sha256(new TextEncoder().encode(`${entityType}\0${name}`)))}`;
}

function foreignMemory(fields: {
  title: string | null;
  content: string;
  kind?: string;
  project?: string;
  tags?: string[];
  source: string;
  idempotencyKey?: string;
}): PlannedMemory["record"] {
  const now = new Date().toISOString();
  return {
    id: null,
    project: fields.project ?? "default",
    kind: fields.kind && KNOWN_KINDS.has(fields.kind) ? fields.kind : "note",
    title: fields.title,
    content: fields.content,
    tags: fields.tags ?? [],
    files: [],
    importance: 3,
    status: "active",
    supersedes: null,
    superseded_by: null,
    source: fields.source,
    idempotency_key: fields.idempotencyKey ?? null,
    version: 1,
    issue: null,
    created_at: now,
    updated_at: now,
    accessed_at: null,
    access_count: 0,
    forgotten_at: null,
    // Another tool's file says nothing of who wrote it beyond the tool: recorded as an import from it.
    written_by: { account: null, via: { kind: "import", name: fields.source }, client: null },
    changed_by: null,
    versions: [],
  };
}

/** Which format a body is in, from the caller's `format` or by looking at it. */
export function detectFormat(firstLine: string, contentType: string | undefined): ImportFormat | null {
  const type = contentType?.split(";")[0]?.trim().toLowerCase();
  if (type === "text/markdown" || type === "multipart/form-data") return "markdown";
  try {
    const first = JSON.parse(firstLine) as { type?: unknown; format?: unknown };
    if (first.type === "header" && first.format === EXPORT_FORMAT) return "muninn";
    if (first.type === "entity" || first.type === "relation") return "knowledge-graph";
  } catch {}
  return /^\s*(---|#)/.test(firstLine) ? "markdown" : null;
}

/** The JSON object on each non-blank line, with its 1-based line number; a line that is not JSON is a failed result. */
function* jsonLines(text: string, plan: ImportPlan): Generator<[number, Record<string, unknown>]> {
  let line = 0;
  for (const raw of text.split("\n")) {
    line += 1;
    const trimmed = raw.trim();
    if (!trimmed) continue;
    let record: unknown;
    try {
      record = JSON.parse(trimmed);
    } catch {
      plan.problems.push({ line, status: "failed", reason: "not valid JSON" });
      continue;
    }
    if (typeof record === "object" && record !== null && !Array.isArray(record)) {
      yield [line, record as Record<string, unknown>];
    } else plan.problems.push({ line, status: "failed", reason: "not a JSON object" });
  }
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

/** Our own JSONL export (`GET /api/export?format=jsonl`). */
export function parseMuninn(text: string): ImportPlan {
  const plan = emptyPlan("muninn");
  for (const [line, record] of jsonLines(text, plan)) {
    switch (record.type) {
      case "header":
        if (record.format !== EXPORT_FORMAT || record.version !== 1) {
          plan.problems.push({
            line,
            status: "failed",
            reason: `unsupported export format ${String(record.format)} v${String(record.version)}`,
          });
        } else plan.problems.push({ line, status: "skipped", reason: "header" });
        break;
      case "footer":
        plan.problems.push({ line, status: "skipped", reason: "footer" });
        break;
      case "project":
        if (typeof record.slug !== "string" || typeof record.name !== "string") {
          plan.problems.push({ line, status: "failed", reason: "project needs slug and name" });
        } else plan.projects.push({ ...(record as unknown as ProjectRecord), line });
        break;
      case "work_session":
        if (
          typeof record.id !== "string" ||
          typeof record.project !== "string" ||
          typeof record.started_at !== "string"
        ) {
          plan.problems.push({ line, status: "failed", reason: "work_session needs id, project and started_at" });
        } else plan.workSessions.push({ ...(record as unknown as WorkSessionRecord), line });
        break;
      case "memory": {
        const problem = memoryProblem(record);
        if (problem) {
          plan.problems.push({ line, status: "failed", reason: problem });
          break;
        }
        const memory = record as unknown as MemoryRecord;
        const { links = [], type: _type, ...rest } = memory;
        plan.memories.push({ line, record: { ...rest, versions: rest.versions ?? [] } });
        for (const link of links) {
          plan.links.push({
            line,
            from: memory.id,
            to: link.to_id,
            relation: link.relation,
            createdAt: link.created_at,
            byEntity: false,
          });
        }
        break;
      }
      default:
        plan.problems.push({ line, status: "failed", reason: `unknown record type ${JSON.stringify(record.type)}` });
    }
  }
  return plan;
}

function memoryProblem(record: Record<string, unknown>): string | null {
  if (typeof record.id !== "string" || !/^m_[A-Za-z0-9]{1,64}$/.test(record.id)) return "memory needs an id like m_…";
  if (typeof record.content !== "string" || !record.content.trim()) return "memory needs content";
  if (typeof record.kind !== "string" || !KNOWN_KINDS.has(record.kind))
    return `unknown kind ${JSON.stringify(record.kind)}`;
  if (typeof record.project !== "string") return "memory needs a project";
  if (!isStringArray(record.tags) || !isStringArray(record.files)) return "tags and files must be lists of strings";
  if (typeof record.created_at !== "string" || Number.isNaN(Date.parse(record.created_at)))
    return "created_at must be an ISO time";
  if (!KNOWN_STATUSES.has(String(record.status))) return `unknown status ${JSON.stringify(record.status)}`;
  const links = record.links;
  if (
    links !== undefined &&
    (!Array.isArray(links) ||
      links.some(
        (link) =>
          !KNOWN_RELATIONS.has(String((link as { relation?: unknown }).relation)) ||
          typeof (link as { to_id?: unknown }).to_id !== "string",
      ))
  ) {
    return "links must be a list of { to_id, relation } with a known relation";
  }
  if (Array.isArray(links) && links.length > TEXT_LIMITS.importedLinks) {
    return `links: at most ${TEXT_LIMITS.importedLinks} links a memory`;
  }
  return null;
}

/**
 * The knowledge graph of the reference MCP memory server
 * (`@modelcontextprotocol/server-memory`, its `memory.jsonl`): each entity
 * becomes one memory (title = name, tag = entity type, one observation a
 * line, its outgoing relations written out too), each relation a link.
 */
export function parseKnowledgeGraph(text: string): ImportPlan {
  const plan = emptyPlan("knowledge-graph");
  const entities = new Map<string, PlannedMemory>();
  const relations: { line: number; from: string; to: string; type: string }[] = [];
  for (const [line, record] of jsonLines(text, plan)) {
    if (record.type === "entity") {
      if (typeof record.name !== "string" || !record.name.trim() || !isStringArray(record.observations)) {
        plan.problems.push({ line, status: "failed", reason: "entity needs a name and a list of observations" });
        continue;
      }
      if (entities.has(record.name)) {
        plan.problems.push({
          line,
          status: "skipped",
          reason: `entity ${JSON.stringify(record.name)} appears earlier in the file`,
        });
        continue;
      }
      const entityType = typeof record.entityType === "string" ? record.entityType : "";
      const planned: PlannedMemory = {
        line,
        entity: record.name,
        record: foreignMemory({
          title: record.name,
          content:
            record.observations.map((observation) => `- ${observation}`).join("\n") || `(${entityType || "entity"})`,
          tags: entityType ? [entityType.toLowerCase()] : [],
          source: "import:knowledge-graph",
          idempotencyKey: entityKey(record.name, entityType),
        }),
      };
      entities.set(record.name, planned);
      plan.memories.push(planned);
    } else if (record.type === "relation") {
      if (typeof record.from !== "string" || typeof record.to !== "string" || typeof record.relationType !== "string") {
        plan.problems.push({ line, status: "failed", reason: "relation needs from, to and relationType" });
        continue;
      }
      relations.push({ line, from: record.from, to: record.to, type: record.relationType });
    } else {
      plan.problems.push({ line, status: "failed", reason: `unknown record type ${JSON.stringify(record.type)}` });
    }
  }
  for (const relation of relations) {
    const from = entities.get(relation.from);
    // Written into the entity's text too: our links have a fixed set of relations, the graph's are free-form.
    if (from && entities.has(relation.to)) from.record.content += `\n- ${relation.type} → ${relation.to}`;
    plan.links.push({
      line: relation.line,
      from: relation.from,
      to: relation.to,
      relation: "relates_to",
      createdAt: null,
      byEntity: true,
    });
  }
  return plan;
}

export interface MarkdownNote {
  name: string;
  text: string;
}

/** `key: value` and `tags: [a, b]` / `- a` lists: the front matter notes apps write. */
function frontMatter(text: string): { fields: Record<string, string | string[]>; body: string; bodyLine: number } {
  const match = text.match(/^---\r?\n([\s\S]*?)\r?\n---\r?\n?/);
  if (!match?.[1]) return { fields: {}, body: text, bodyLine: 1 };
  const fields: Record<string, string | string[]> = {};
  let listKey: string | null = null;
  for (const line of match[1].split(/\r?\n/)) {
    const item = line.match(/^\s*-\s+(.*)$/);
    if (item?.[1] !== undefined && listKey) {
      (fields[listKey] as string[]).push(unquote(item[1]));
      continue;
    }
    const pair = line.match(/^([A-Za-z_][\w-]*):\s*(.*)$/);
    if (!pair?.[1]) continue;
    const [, key, value = ""] = pair;
    if (value === "") {
      fields[key] = [];
      listKey = key;
    } else if (value.startsWith("[") && value.endsWith("]")) {
      fields[key] = value.slice(1, -1).split(",").map(unquote).filter(Boolean);
      listKey = null;
    } else {
      fields[key] = unquote(value);
      listKey = null;
    }
  }
  return { fields, body: text.slice(match[0].length), bodyLine: match[0].split("\n").length };
}

function unquote(value: string): string {
  return value.trim().replace(/^["']|["']$/g, "");
}

/**
 * Markdown notes: one memory per note (title from front matter, the first
 * heading or the file name), or with `split: "heading"` one per heading.
 * Front-matter `tags`, `kind` and `project` apply to every memory of the note.
 */
export function parseMarkdown(notes: MarkdownNote[], split: "note" | "heading"): ImportPlan {
  const plan = emptyPlan("markdown");
  for (const note of notes) {
    const { fields, body, bodyLine } = frontMatter(note.text.replace(/^\uFEFF/, ""));
    const tags = Array.isArray(fields.tags)
      ? fields.tags
      : typeof fields.tags === "string"
        ? fields.tags.split(/[,\s]+/).filter(Boolean)
        : [];
    const kind = typeof fields.kind === "string" ? fields.kind : undefined;
    const project = typeof fields.project === "string" ? fields.project : undefined;
    const fileTitle = note.name.replace(/^.*\//, "").replace(/\.(md|markdown)$/i, "");
    const sections: { line: number; title: string | null; lines: string[] }[] = [];
    if (split === "heading") {
      let current: { line: number; title: string | null; lines: string[] } = { line: bodyLine, title: null, lines: [] };
      body.split(/\r?\n/).forEach((line, index) => {
        const heading = line.match(/^#{1,6}\s+(.*)$/);
        if (heading?.[1]) {
          sections.push(current);
          current = { line: bodyLine + index, title: heading[1].trim(), lines: [] };
        } else current.lines.push(line);
      });
      sections.push(current);
    } else {
      const heading = body.match(/^#{1,6}\s+(.*)$/m)?.[1]?.trim();
      const title = typeof fields.title === "string" ? fields.title : (heading ?? fileTitle);
      sections.push({ line: bodyLine, title, lines: body.split(/\r?\n/) });
    }
    for (const section of sections) {
      const content = section.lines.join("\n").trim();
      if (!content) {
        if (section.title)
          plan.problems.push({
            line: section.line,
            file: note.name,
            status: "skipped",
            reason: "heading without text",
          });
        continue;
      }
      if (kind !== undefined && !KNOWN_KINDS.has(kind)) {
        plan.problems.push({
          line: section.line,
          file: note.name,
          status: "failed",
          reason: `unknown kind ${JSON.stringify(kind)}`,
        });
        continue;
      }
      plan.memories.push({
        line: section.line,
        file: note.name,
        record: foreignMemory({
          title: section.title ?? fileTitle,
          content,
          kind,
          project,
          tags,
          source: "import:markdown",
        }),
      });
    }
  }
  return plan;
}
