import type { Row } from "@libsql/client/web";
import type { Database } from "../../db/client";
import { AppError } from "../../errors";
import type { MemoryMeter, QuotaStanding } from "../../memory/access";
import { fieldProblem } from "../../memory/fields";
import { updateMemory } from "../../memory/memories";
import { contentHash, newMemoryId, normalizeFiles, normalizeTags } from "../../memory/model";
import type { ImportFormat, ImportPlan, PlannedLink, PlannedMemory } from "./import-formats";
import { importedMemoryRule, importedProjectRule, importedWorkSessionRule } from "./import-rules";
import {
  type MemoryToWrite,
  ms,
  storedLinkEnds,
  storedProjects,
  storedWorkSessions,
  writeLinks,
  writeMemories,
  writeProjects,
  writeWorkSessions,
} from "./import-writes";

/**
 * Applying an import plan to a tenant database, through the memory door's
 * rules (`shared/memory/door.ts` calls this). Every record is checked
 * against the field rules the tools use (`import-rules.ts`); every record
 * created — memory, link, project, work session — costs one unit of the
 * month's quota, the counter the tool calls use. Every line gets a result;
 * a bad line, or one the quota no longer covers, is reported and skipped,
 * and never stops the good ones.
 *
 * A record keeps its identity in its source — our export's id or
 * idempotency key, a knowledge-graph entity's name and type (written as its
 * idempotency key, see `import-formats.ts`). A record whose identity is
 * stored is compared with the stored memory: the same state is `unchanged`,
 * a changed one `updated` — a new version of that memory, the previous state
 * kept in its history (`updateMemory`, as the `update` tool does), so recall
 * finds the current one only. Otherwise memories dedupe as `remember` does
 * (same normalized content in the same project as an active memory), so
 * running the same file again creates nothing. A stored memory whose record
 * has left the source is left alone: a file is not a list of everything.
 */
export interface ImportLineResult {
  line: number;
  file?: string;
  record: "memory" | "link" | "project" | "work_session" | "other";
  status: "created" | "updated" | "unchanged" | "skipped" | "failed";
  id?: string;
  reason?: string;
}

export interface ImportSummary {
  format: ImportFormat;
  created: number;
  /** Records whose stored memory they changed (a new version each). */
  updated: number;
  /** Records whose stored memory already had their state. */
  unchanged: number;
  skipped: number;
  failed: number;
  results: ImportLineResult[];
}

const CHUNK = 500;

interface Candidate extends MemoryToWrite {
  planned: PlannedMemory;
}

/** A record whose identity is stored, with a state that differs from the stored memory's. */
interface Change {
  candidate: Candidate;
  id: string;
}

/** Why a line was not imported once the quota is spent: the numbers, and that nothing of the line was written. */
function quotaReason(quota: QuotaStanding): string {
  return (
    `not imported: this month's quota is spent (${quota.used} of ${quota.limit} tool calls used; each record ` +
    `an import creates counts as one; it resets at ${quota.resetsAt})`
  );
}

/**
 * Take units for `items` from the quota, in order: the first ones granted
 * are returned to be written, the rest are reported with the quota's reason.
 */
async function metered<T>(meter: MemoryMeter, items: T[], refuse: (item: T, reason: string) => void): Promise<T[]> {
  if (items.length === 0) return items;
  const { granted, quota } = await meter.take(items.length);
  for (const item of items.slice(granted)) refuse(item, quotaReason(quota));
  return items.slice(0, granted);
}

export async function applyImport(db: Database, plan: ImportPlan, meter: MemoryMeter): Promise<ImportSummary> {
  const results: ImportLineResult[] = plan.problems.map((problem) => ({ ...problem, record: "other" as const }));
  const memoryResult = (planned: PlannedMemory, status: ImportLineResult["status"], extra: Partial<ImportLineResult>) =>
    results.push({
      line: planned.line,
      ...(planned.file && { file: planned.file }),
      record: "memory",
      status,
      ...extra,
    });
  const resolved = new Map<string, string>();

  const { fresh: candidates, changes } = await newMemories(db, plan, resolved, memoryResult);

  // Named projects: checked, then only the ones not stored yet are created (and metered).
  const existing = await storedProjects(db);
  const namedProjects: { line: number; slug: string; name: string; created_at: string | null }[] = [];
  // A stored project named again keeps its name and takes the earlier creation time (no new record: not metered).
  const storedNamed: { slug: string; name: string; created_at: string | null }[] = [];
  for (const project of plan.projects) {
    const parsed = importedProjectRule.safeParse(project);
    if (!parsed.success) {
      const reason = fieldProblem(importedProjectRule, project) ?? "invalid project";
      results.push({ line: project.line, record: "project", status: "failed", reason });
    } else if (existing.has(parsed.data.slug) || namedProjects.some((p) => p.slug === parsed.data.slug)) {
      if (existing.has(parsed.data.slug)) storedNamed.push(parsed.data);
      results.push({
        line: project.line,
        record: "project",
        status: "skipped",
        id: parsed.data.slug,
        reason: "project exists",
      });
    } else namedProjects.push({ ...parsed.data, line: project.line });
  }
  const projects = await metered(meter, namedProjects, (project, reason) =>
    results.push({ line: project.line, record: "project", status: "failed", id: project.slug, reason }),
  );
  const fresh = await metered(meter, candidates, (candidate, reason) =>
    memoryResult(candidate.planned, "failed", { reason }),
  );
  const created = new Set(projects.map((project) => project.slug));
  const implied = [...new Set(fresh.map((c) => c.record.project))].filter((s) => !existing.has(s) && !created.has(s));
  await writeProjects(db, [...storedNamed, ...projects], implied);
  for (const project of projects) {
    results.push({ line: project.line, record: "project", status: "created", id: project.slug });
  }

  let unused = fresh.length;
  try {
    for (let i = 0; i < fresh.length; i += CHUNK) {
      const chunk = fresh.slice(i, i + CHUNK);
      const present = await writeMemories(db, chunk);
      for (const candidate of chunk) {
        if (present.has(candidate.id)) {
          unused -= 1;
          link(resolved, candidate.planned, candidate.record.id, candidate.id);
          memoryResult(candidate.planned, "created", { id: candidate.id });
        } else {
          memoryResult(candidate.planned, "skipped", { reason: "saved meanwhile by another request (same content)" });
        }
      }
    }
  } finally {
    if (unused > 0) await meter.giveBack(unused);
  }
  await applyChanges(db, plan.format, changes, meter, memoryResult);
  await importLinks(db, plan.links, resolved, meter, results);
  await importWorkSessions(db, plan, meter, results);

  results.sort((a, b) => (a.file ?? "").localeCompare(b.file ?? "") || a.line - b.line);
  const count = (status: ImportLineResult["status"]) => results.filter((result) => result.status === status).length;
  return {
    format: plan.format,
    created: count("created"),
    updated: count("updated"),
    unchanged: count("unchanged"),
    skipped: count("skipped"),
    failed: count("failed"),
    results,
  };
}

/** Remember under which id a record (by its own id, or its entity name) now lives, for its links. */
function link(resolved: Map<string, string>, planned: PlannedMemory, recordId: string | null, id: string) {
  if (recordId) resolved.set(recordId, id);
  if (planned.entity) resolved.set(`entity:${planned.entity}`, id);
}

/**
 * The plan's memories that pass the field rules, sorted: `fresh` (neither
 * repeated in the file nor stored) and `changes` (their identity is stored,
 * with another state); the others — unchanged, duplicates, failures — get
 * their result here.
 */
async function newMemories(
  db: Database,
  plan: ImportPlan,
  resolved: Map<string, string>,
  memoryResult: (planned: PlannedMemory, status: ImportLineResult["status"], extra: Partial<ImportLineResult>) => void,
): Promise<{ fresh: Candidate[]; changes: Change[] }> {
  const candidates: Candidate[] = [];
  const seen = { ids: new Map<string, number>(), content: new Map<string, number>(), keys: new Map<string, number>() };
  for (const planned of plan.memories) {
    const parsed = importedMemoryRule.safeParse(planned.record);
    if (!parsed.success) {
      memoryResult(planned, "failed", { reason: fieldProblem(importedMemoryRule, planned.record) ?? "invalid" });
      continue;
    }
    const record = parsed.data;
    const candidate: Candidate = {
      planned,
      record,
      id: record.id ?? newMemoryId(),
      hash: await contentHash(record.content),
      tags: normalizeTags(record.tags),
      files: normalizeFiles(record.files),
    };
    const contentKey = `${record.project}\u0000${candidate.hash}`;
    const earlier =
      seen.ids.get(candidate.id) ??
      (record.status === "active" ? seen.content.get(contentKey) : undefined) ??
      (record.idempotency_key ? seen.keys.get(record.idempotency_key) : undefined);
    if (earlier !== undefined) {
      const first = candidates[earlier] as Candidate;
      link(resolved, planned, record.id, first.id);
      memoryResult(planned, "skipped", { id: first.id, reason: `same memory as line ${first.planned.line}` });
      continue;
    }
    seen.ids.set(candidate.id, candidates.length);
    if (record.status === "active") seen.content.set(contentKey, candidates.length);
    if (record.idempotency_key) seen.keys.set(record.idempotency_key, candidates.length);
    candidates.push(candidate);
  }

  const fresh: Candidate[] = [];
  const changes: Change[] = [];
  for (let i = 0; i < candidates.length; i += CHUNK) {
    const chunk = candidates.slice(i, i + CHUNK);
    const [byId, byContent, byKey] = (await db.batch(
      [
        {
          sql: `SELECT ${STATE_COLUMNS} FROM json_each(?) j CROSS JOIN memories m ON m.id = j.value`,
          args: [JSON.stringify(chunk.map((c) => c.id))],
        },
        {
          // By (project, content_hash), so the lookup uses the index of that name.
          sql: `SELECT m.id, m.project, m.content_hash FROM json_each(?) j
                CROSS JOIN memories m ON m.project = j.value ->> 0 AND m.content_hash = j.value ->> 1
                WHERE +m.status = 'active'`,
          args: [JSON.stringify(chunk.map((c) => [c.record.project, c.hash]))],
        },
        {
          sql: `SELECT ${STATE_COLUMNS}, m.idempotency_key FROM json_each(?) j
                CROSS JOIN memories m ON m.idempotency_key = j.value`,
          args: [JSON.stringify(chunk.flatMap((c) => (c.record.idempotency_key ? [c.record.idempotency_key] : [])))],
        },
      ],
      "read",
    )) as { rows: Row[] }[];
    const ids = new Map((byId?.rows ?? []).map((row) => [String(row.id), row]));
    const contents = new Map(
      (byContent?.rows ?? []).map((row) => [`${row.project}\u0000${row.content_hash}`, String(row.id)]),
    );
    const keys = new Map((byKey?.rows ?? []).map((row) => [String(row.idempotency_key), row]));
    for (const candidate of chunk) {
      const { record } = candidate;
      const stored = ids.get(candidate.id) ?? (record.idempotency_key ? keys.get(record.idempotency_key) : undefined);
      const sameContent = contents.get(`${record.project}\u0000${candidate.hash}`);
      if (stored) {
        // The record's identity is stored: this import is about that memory.
        const id = String(stored.id);
        link(resolved, candidate.planned, record.id, id);
        if (sameState(stored, candidate, plan.format)) memoryResult(candidate.planned, "unchanged", { id });
        else if (stored.status !== "active") {
          const reason = `changed in the file, but ${stored.status} here: not updated (restore it first)`;
          memoryResult(candidate.planned, "skipped", { id, reason });
        } else changes.push({ candidate, id });
      } else if (record.status === "active" && sameContent) {
        link(resolved, candidate.planned, record.id, sameContent);
        const reason = "duplicate of an existing memory with the same content";
        memoryResult(candidate.planned, "skipped", { id: sameContent, reason });
      } else fresh.push(candidate);
    }
  }
  return { fresh, changes };
}

/** What a memory's state is compared on, read with its id and status. */
const STATE_COLUMNS = "m.id, m.status, m.content_hash, m.title, m.kind, m.tags, m.files, m.importance";

/**
 * Whether a stored memory already holds a record's state: for our own
 * export every field a tool can change; for other formats the fields they
 * carry (content, title, tags), so what was set here since (importance,
 * files, kind) is neither compared nor overwritten.
 */
function sameState(stored: Row, candidate: Candidate, format: ImportFormat): boolean {
  const { record } = candidate;
  const same =
    stored.content_hash === candidate.hash &&
    (stored.title ?? null) === record.title &&
    String(stored.tags) === JSON.stringify(candidate.tags);
  if (format !== "muninn") return same;
  return (
    same &&
    stored.kind === record.kind &&
    String(stored.files) === JSON.stringify(candidate.files) &&
    Number(stored.importance) === record.importance
  );
}

/**
 * Write each changed record as a new version of its memory, one unit of quota
 * each (the `update` tool's price). A memory changed meanwhile by someone
 * else fails its line rather than losing either change.
 */
async function applyChanges(
  db: Database,
  format: ImportFormat,
  changes: Change[],
  meter: MemoryMeter,
  memoryResult: (planned: PlannedMemory, status: ImportLineResult["status"], extra: Partial<ImportLineResult>) => void,
) {
  const granted = await metered(meter, changes, ({ candidate, id }, reason) =>
    memoryResult(candidate.planned, "failed", { id, reason }),
  );
  let unused = 0;
  for (const { candidate, id } of granted) {
    const { record } = candidate;
    try {
      await updateMemory(db, {
        id,
        content: record.content,
        title: record.title,
        tags: record.tags,
        ...(format === "muninn" && { kind: record.kind, files: record.files, importance: record.importance }),
      });
      memoryResult(candidate.planned, "updated", { id });
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      unused += 1;
      memoryResult(candidate.planned, "failed", { id, reason: error.message });
    }
  }
  if (unused > 0) await meter.giveBack(unused);
}

async function importLinks(
  db: Database,
  planned: PlannedLink[],
  resolved: Map<string, string>,
  meter: MemoryMeter,
  results: ImportLineResult[],
) {
  for (let i = 0; i < planned.length; i += CHUNK) {
    const chunk = planned.slice(i, i + CHUNK).map((link) => {
      const key = (name: string) => (link.byEntity ? `entity:${name}` : name);
      return {
        planned: link,
        from: resolved.get(key(link.from)) ?? (link.byEntity ? null : link.from),
        to: resolved.get(key(link.to)) ?? (link.byEntity ? null : link.to),
      };
    });
    const stored = await storedLinkEnds(
      db,
      chunk.flatMap((link) => [link.from, link.to]).filter((id): id is string => typeof id === "string"),
    );
    const inserts: { line: number; from_id: string; to_id: string; relation: string; created_at: number }[] = [];
    for (const { planned: link, from, to } of chunk) {
      const base = { line: link.line, record: "link" as const };
      if (!from || !to || !stored.memories.has(from) || !stored.memories.has(to)) {
        const missing = String(!from || !stored.memories.has(from) ? link.from : link.to).slice(0, 100);
        results.push({
          ...base,
          status: "failed",
          reason: `links to ${JSON.stringify(missing)}, which is neither in the file nor stored`,
        });
      } else if (from === to) {
        results.push({ ...base, status: "skipped", reason: "links a memory to itself" });
      } else if (stored.links.has(`${from} ${to} ${link.relation}`)) {
        results.push({ ...base, status: "skipped", reason: "link exists" });
      } else {
        stored.links.add(`${from} ${to} ${link.relation}`);
        inserts.push({
          line: link.line,
          from_id: from,
          to_id: to,
          relation: link.relation,
          created_at: ms(link.createdAt) ?? Date.now(),
        });
      }
    }
    const granted = await metered(meter, inserts, (insert, reason) =>
      results.push({ line: insert.line, record: "link", status: "failed", reason }),
    );
    await writeLinks(db, granted);
    for (const insert of granted) {
      results.push({
        line: insert.line,
        record: "link",
        status: "created",
        id: `${insert.from_id} ${insert.relation} ${insert.to_id}`,
      });
    }
  }
}

async function importWorkSessions(db: Database, plan: ImportPlan, meter: MemoryMeter, results: ImportLineResult[]) {
  for (let i = 0; i < plan.workSessions.length; i += CHUNK) {
    const valid: { line: number; session: ReturnType<typeof importedWorkSessionRule.parse> }[] = [];
    for (const session of plan.workSessions.slice(i, i + CHUNK)) {
      const parsed = importedWorkSessionRule.safeParse(session);
      if (parsed.success) valid.push({ line: session.line, session: parsed.data });
      else {
        const reason = fieldProblem(importedWorkSessionRule, session) ?? "invalid work session";
        results.push({ line: session.line, record: "work_session", status: "failed", reason });
      }
    }
    const exists = await storedWorkSessions(
      db,
      valid.map(({ session }) => session.id),
    );
    const fresh = valid.filter(({ line, session }) => {
      if (!exists.has(session.id)) return true;
      const reason = "already imported (same id)";
      results.push({ line, record: "work_session", status: "skipped", id: session.id, reason });
      return false;
    });
    const granted = await metered(meter, fresh, ({ line, session }, reason) =>
      results.push({ line, record: "work_session", status: "failed", id: session.id, reason }),
    );
    const stored = await writeWorkSessions(
      db,
      granted.map(({ session }) => session),
    );
    const lost = granted.filter(({ session }) => !stored.has(session.id)).length;
    if (lost > 0) await meter.giveBack(lost);
    for (const { line, session } of granted) {
      results.push({ line, record: "work_session", status: "created", id: session.id });
    }
  }
}
