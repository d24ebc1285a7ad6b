import { randomString, sha256Hex } from "../crypto/encoding";
import { isoFromMillisOrNull } from "../db/row-values";

/**
 * The memory model shared by the store, the search and the MCP tools. Limits
 * live here so the tool schemas and the store agree on them.
 */
export const MEMORY_KINDS = [
  "note",
  "fact",
  "decision",
  "learning",
  "preference",
  "procedure",
  "issue",
  "event",
] as const;
export type MemoryKind = (typeof MEMORY_KINDS)[number];

export const MEMORY_STATUSES = ["active", "superseded", "forgotten"] as const;
export type MemoryStatus = (typeof MEMORY_STATUSES)[number];

export const LINK_RELATIONS = ["relates_to", "depends_on", "contradicts", "supersedes", "part_of"] as const;
export type LinkRelation = (typeof LINK_RELATIONS)[number];

export const LIMITS = {
  /** 32 KiB of content, counted in UTF-8 bytes as stored. */
  contentBytes: 32 * 1024,
  titleChars: 200,
  tags: 20,
  tagChars: 64,
  files: 50,
  fileChars: 512,
  batch: 50,
  getIds: 20,
  /** Soft-deleted memories stay restorable this long. */
  restoreWindowMs: 30 * 24 * 60 * 60 * 1000,
  queryChars: 2000,
} as const;

/** Project slugs: what a human would type, safe in a URI path segment. */
export const PROJECT_SLUG = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const DEFAULT_PROJECT = "default";

export interface Memory {
  id: string;
  project: string;
  kind: MemoryKind;
  title: string | null;
  content: string;
  tags: string[];
  files: string[];
  importance: number;
  status: MemoryStatus;
  supersedes: string | null;
  supersededBy: string | null;
  source: string | null;
  version: number;
  issue: {
    status: "open" | "resolved";
    severity: number | null;
    resolution: string | null;
    resolvedAt: string | null;
  } | null;
  createdAt: string;
  updatedAt: string;
  lastAccessedAt: string | null;
  accessCount: number;
  forgottenAt: string | null;
}

export type Row = Record<string, unknown>;

/** A JSON array column (tags, files, next steps) as strings; anything unreadable reads as empty. */
export function jsonArray(value: unknown): string[] {
  try {
    const parsed = JSON.parse(String(value ?? "[]"));
    return Array.isArray(parsed) ? parsed.map(String) : [];
  } catch {
    return [];
  }
}

/** The first of `Memory`'s fields from a row, in `Memory`'s key order (recall's candidates are these and the times). */
export function memoryFieldsOf(row: Row) {
  return {
    id: String(row.id),
    project: String(row.project),
    kind: row.kind as MemoryKind,
    title: row.title == null ? null : String(row.title),
    content: String(row.content),
    tags: jsonArray(row.tags),
    files: jsonArray(row.files),
    importance: Number(row.importance),
    status: row.status as MemoryStatus,
  };
}

export function rowToMemory(row: Row): Memory {
  return {
    ...memoryFieldsOf(row),
    supersedes: row.supersedes == null ? null : String(row.supersedes),
    supersededBy: row.superseded_by == null ? null : String(row.superseded_by),
    source: row.source == null ? null : String(row.source),
    version: Number(row.version),
    issue:
      row.issue_status == null
        ? null
        : {
            status: row.issue_status as "open" | "resolved",
            severity: row.severity == null ? null : Number(row.severity),
            resolution: row.resolution == null ? null : String(row.resolution),
            resolvedAt: isoFromMillisOrNull(row.resolved_at),
          },
    createdAt: isoFromMillisOrNull(row.created_at) as string,
    updatedAt: isoFromMillisOrNull(row.updated_at) as string,
    lastAccessedAt: isoFromMillisOrNull(row.accessed_at),
    accessCount: Number(row.access_count ?? 0),
    forgottenAt: isoFromMillisOrNull(row.forgotten_at),
  };
}

export function newMemoryId(): string {
  return `m_${randomString(16)}`;
}

/**
 * What counts as "the same memory": Unicode-normalized, case-folded, with
 * runs of whitespace collapsed. Two saves that differ only in formatting
 * noise dedupe; any change of words does not.
 */
function normalizeContent(content: string): string {
  return content.normalize("NFKC").toLowerCase().replace(/\s+/g, " ").trim();
}

export function contentHash(content: string): Promise<string> {
  return sha256Hex(normalizeContent(content));
}

/** Tags compare case-insensitively and without surrounding space; duplicates collapse. */
export function normalizeTags(tags: readonly string[] | undefined): string[] {
  return [...new Set((tags ?? []).map((tag) => tag.trim().toLowerCase()).filter(Boolean))];
}

/** File paths compare with forward slashes and without a leading `./`. */
export function normalizeFiles(files: readonly string[] | undefined): string[] {
  return [...new Set((files ?? []).map(normalizePath).filter(Boolean))];
}

function normalizePath(path: string): string {
  return path
    .trim()
    .replace(/\\/g, "/")
    .replace(/^(\.\/)+/, "");
}

/** A rough token count (about four characters a token) for budgeting briefings. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** Text on one line (whitespace runs collapsed), cut to `chars` with an ellipsis when longer. */
export function clip(text: string, chars: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > chars ? `${flat.slice(0, chars - 1)}…` : flat;
}

/** The size of `text` in UTF-8 bytes, as stored and as the content limit counts it. */
export function utf8Bytes(text: string): number {
  return new TextEncoder().encode(text).byteLength;
}
