import type { InStatement, Row } from "@libsql/client/web";
import type { Database } from "../db/client";
import { AppError } from "../errors";
import { contentHash, LIMITS, newMemoryId, normalizeFiles, normalizeTags, PROJECT_SLUG } from "../memory/model";
import type { ImportFormat, ImportPlan, PlannedMemory } from "./import-formats";

/**
 * Applying an import plan to a tenant database. Memories dedupe as
 * `remember` does (same normalized content in the same project as an active
 * memory, or the same idempotency key) and, for our own export, by id too,
 * so running the same file again creates nothing. Every line gets a result;
 * a bad line never stops the good ones. Writes go in chunks of whole
 * statements (`json_each` over a chunk), which is what makes 100,000
 * memories a matter of seconds rather than minutes. Lookups start from the
 * chunk (`json_each(?) CROSS JOIN table`): SQLite then probes the table's
 * index per item instead of scanning the table once per chunk.
 */
export interface ImportLineResult {
  line: number;
  file?: string;
  record: "memory" | "link" | "project" | "work_session" | "other";
  status: "created" | "skipped" | "failed";
  id?: string;
  reason?: string;
}

export interface ImportSummary {
  format: ImportFormat;
  created: number;
  skipped: number;
  failed: number;
  results: ImportLineResult[];
}

/** The tenant's monthly quota, as the import sees it: reserve up front, give back what was not created. */
export interface ImportQuota {
  reserve(count: number): Promise<{ ok: true } | { ok: false; limit: number; used: number; resetsAt: string }>;
  release(count: number): Promise<void>;
}

const CHUNK = 500;
const ms = (value: string | null | undefined) => (value == null ? null : Date.parse(value));

interface Candidate {
  planned: PlannedMemory;
  id: string;
  hash: string;
  tags: string[];
  files: string[];
}

export async function applyImport(db: Database, plan: ImportPlan, quota: ImportQuota): Promise<ImportSummary> {
  const results: ImportLineResult[] = plan.problems.map((problem) => ({ ...problem, record: "other" as const }));
  const memoryResult = (planned: PlannedMemory, status: ImportLineResult["status"], extra: Partial<ImportLineResult>) =>
    results.push({
      line: planned.line,
      ...(planned.file && { file: planned.file }),
      record: "memory",
      status,
      ...extra,
    });

  // Validate, then drop what the file itself repeats.
  const candidates: Candidate[] = [];
  const seen = { ids: new Map<string, number>(), content: new Map<string, number>(), keys: new Map<string, number>() };
  const resolved = new Map<string, string>();
  for (const planned of plan.memories) {
    const problem = memoryProblem(planned);
    if (problem) {
      memoryResult(planned, "failed", { reason: problem });
      continue;
    }
    const { record } = planned;
    const candidate: Candidate = {
      planned,
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

  // What the database already holds.
  const fresh: Candidate[] = [];
  for (let i = 0; i < candidates.length; i += CHUNK) {
    const chunk = candidates.slice(i, i + CHUNK);
    const [byId, byContent, byKey] = (await db.batch(
      [
        {
          sql: "SELECT m.id FROM json_each(?) j CROSS JOIN memories m ON m.id = j.value",
          args: [JSON.stringify(chunk.map((c) => c.id))],
        },
        {
          // By (project, content_hash), so the lookup uses the index of that name.
          sql: `SELECT m.id, m.project, m.content_hash FROM json_each(?) j
                CROSS JOIN memories m ON m.project = j.value ->> 0 AND m.content_hash = j.value ->> 1
                WHERE +m.status = 'active'`,
          args: [JSON.stringify(chunk.map((c) => [c.planned.record.project, c.hash]))],
        },
        {
          sql: "SELECT m.id, m.idempotency_key FROM json_each(?) j CROSS JOIN memories m ON m.idempotency_key = j.value",
          args: [
            JSON.stringify(
              chunk.flatMap((c) => (c.planned.record.idempotency_key ? [c.planned.record.idempotency_key] : [])),
            ),
          ],
        },
      ],
      "read",
    )) as { rows: Row[] }[];
    const ids = new Set((byId?.rows ?? []).map((row) => String(row.id)));
    const contents = new Map(
      (byContent?.rows ?? []).map((row) => [`${row.project}\u0000${row.content_hash}`, String(row.id)]),
    );
    const keys = new Map((byKey?.rows ?? []).map((row) => [String(row.idempotency_key), String(row.id)]));
    for (const candidate of chunk) {
      const { record } = candidate.planned;
      const existing = ids.has(candidate.id)
        ? { id: candidate.id, reason: "already imported (same id)" }
        : record.status === "active" && contents.has(`${record.project}\u0000${candidate.hash}`)
          ? {
              id: contents.get(`${record.project}\u0000${candidate.hash}`) as string,
              reason: "duplicate of an existing memory with the same content",
            }
          : record.idempotency_key && keys.has(record.idempotency_key)
            ? { id: keys.get(record.idempotency_key) as string, reason: "idempotency_key already used" }
            : null;
      if (existing) {
        link(resolved, candidate.planned, record.id, existing.id);
        memoryResult(candidate.planned, "skipped", existing);
      } else fresh.push(candidate);
    }
  }

  // The quota is checked for the whole import before anything is written.
  if (fresh.length > 0) {
    const reserved = await quota.reserve(fresh.length);
    if (!reserved.ok) {
      const left = Math.max(0, reserved.limit - reserved.used);
      throw new AppError(
        "rate_limited",
        `Import refused: it would create ${fresh.length} memories, and ${left} of this month's ${reserved.limit} ` +
          `tool calls are left (${reserved.used} used; each imported memory counts as one; the quota resets at ` +
          `${reserved.resetsAt}). Nothing was imported; split the file or upgrade the plan.`,
        { code: "quota_exceeded" },
      );
    }
  }

  let created = 0;
  try {
    await writeProjects(db, plan, fresh, results);
    for (let i = 0; i < fresh.length; i += CHUNK) {
      const chunk = fresh.slice(i, i + CHUNK);
      const present = await writeMemories(db, chunk);
      for (const candidate of chunk) {
        const { record } = candidate.planned;
        if (present.has(candidate.id)) {
          created += 1;
          link(resolved, candidate.planned, record.id, candidate.id);
          memoryResult(candidate.planned, "created", { id: candidate.id });
        } else {
          memoryResult(candidate.planned, "skipped", { reason: "saved meanwhile by another request (same content)" });
        }
      }
    }
  } finally {
    if (fresh.length > created) await quota.release(fresh.length - created);
  }
  await writeLinks(db, plan, resolved, results);
  await writeWorkSessions(db, plan, results);

  results.sort((a, b) => (a.file ?? "").localeCompare(b.file ?? "") || a.line - b.line);
  const count = (status: ImportLineResult["status"]) => results.filter((result) => result.status === status).length;
  return {
    format: plan.format,
    created: count("created"),
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

function memoryProblem(planned: PlannedMemory): string | null {
  const { record } = planned;
  const bytes = new TextEncoder().encode(record.content).byteLength;
  if (bytes > LIMITS.contentBytes) return `content is ${bytes} bytes; the limit is ${LIMITS.contentBytes}`;
  if (record.title && record.title.length > LIMITS.titleChars)
    return `title is longer than ${LIMITS.titleChars} characters`;
  if (!PROJECT_SLUG.test(record.project)) return `project ${JSON.stringify(record.project)} is not a valid slug`;
  if (record.tags.length > LIMITS.tags) return `more than ${LIMITS.tags} tags`;
  if (record.files.length > LIMITS.files) return `more than ${LIMITS.files} files`;
  return null;
}

async function writeProjects(db: Database, plan: ImportPlan, fresh: Candidate[], results: ImportLineResult[]) {
  const existing = new Set((await db.execute("SELECT slug FROM projects", "read")).rows.map((row) => String(row.slug)));
  const statements: InStatement[] = [];
  for (const project of plan.projects) {
    if (!PROJECT_SLUG.test(project.slug)) {
      results.push({ line: project.line, record: "project", status: "failed", reason: "not a valid project slug" });
      continue;
    }
    const known = existing.has(project.slug);
    results.push({
      line: project.line,
      record: "project",
      status: known ? "skipped" : "created",
      id: project.slug,
      ...(known && { reason: "project exists" }),
    });
    existing.add(project.slug);
    // A project that exists keeps its name; it takes the earlier creation time, so a
    // round trip through a fresh tenant (whose `default` project is new) changes nothing.
    statements.push({
      sql: `INSERT INTO projects (slug, name, created_at) VALUES (?, ?, ?)
            ON CONFLICT (slug) DO UPDATE SET created_at = MIN(created_at, excluded.created_at)`,
      args: [project.slug, project.name, ms(project.created_at) ?? Date.now()],
    });
  }
  const implied = [...new Set(fresh.map((c) => c.planned.record.project))].filter((slug) => !existing.has(slug));
  if (implied.length > 0) {
    statements.push({
      sql: "INSERT OR IGNORE INTO projects (slug, name, created_at) SELECT value, value, ? FROM json_each(?)",
      args: [Date.now(), JSON.stringify(implied)],
    });
  }
  if (statements.length > 0) await db.batch(statements, "write");
}

/** One transaction per chunk; returns the ids of the chunk that are now stored. */
async function writeMemories(db: Database, chunk: Candidate[]): Promise<Set<string>> {
  const rows = chunk.map(({ planned: { record }, id, hash, tags, files }) => ({
    id,
    project: record.project,
    kind: record.kind,
    title: record.title,
    content: record.content,
    content_hash: hash,
    tags: JSON.stringify(tags),
    files: JSON.stringify(files),
    importance: record.importance,
    status: record.status,
    supersedes: record.supersedes,
    superseded_by: record.superseded_by,
    source: record.source,
    idempotency_key: record.idempotency_key,
    version: record.version,
    issue_status: record.issue?.status ?? null,
    severity: record.issue?.severity ?? null,
    resolution: record.issue?.resolution ?? null,
    resolved_at: ms(record.issue?.resolved_at),
    created_at: ms(record.created_at),
    updated_at: ms(record.updated_at) ?? ms(record.created_at),
    accessed_at: ms(record.accessed_at),
    access_count: record.access_count ?? 0,
    forgotten_at: ms(record.forgotten_at),
  }));
  const columns = Object.keys(rows[0] ?? {});
  const versions = chunk.flatMap(({ id, planned: { record } }) =>
    (record.versions ?? []).map((version) => ({
      memory_id: id,
      version: version.version,
      title: version.title,
      content: version.content,
      tags: JSON.stringify(version.tags),
      files: JSON.stringify(version.files),
      importance: version.importance,
      replaced_at: ms(version.replaced_at),
    })),
  );
  const ids = JSON.stringify(rows.map((row) => row.id));
  const results = (await db.batch(
    [
      {
        // The same duplicate checks as `remember`, inside the write, so a save racing the import still yields one
        // memory. `+m.status` keeps SQLite off the (project, status, …) index: without statistics it would pick
        // it and scan every active memory of the project for each row, instead of the (project, content_hash) one.
        sql: `INSERT INTO memories (${columns.join(", ")})
              SELECT ${columns.map((column) => `j.value ->> '${column}'`).join(", ")} FROM json_each(?) j
              WHERE NOT EXISTS (SELECT 1 FROM memories m WHERE m.id = j.value ->> 'id')
                AND (j.value ->> 'status' != 'active' OR NOT EXISTS (SELECT 1 FROM memories m
                      WHERE m.project = j.value ->> 'project' AND m.content_hash = j.value ->> 'content_hash' AND +m.status = 'active'))
                AND (j.value ->> 'idempotency_key' IS NULL OR NOT EXISTS (SELECT 1 FROM memories m
                      WHERE m.idempotency_key = j.value ->> 'idempotency_key'))`,
        args: [JSON.stringify(rows)],
      },
      {
        sql: `INSERT OR IGNORE INTO memory_tags (memory_seq, tag)
              SELECT m.seq, t.value FROM json_each(?) j CROSS JOIN memories m ON m.id = j.value CROSS JOIN json_each(m.tags) t`,
        args: [ids],
      },
      {
        sql: `INSERT OR IGNORE INTO memory_files (memory_seq, path)
              SELECT m.seq, f.value FROM json_each(?) j CROSS JOIN memories m ON m.id = j.value CROSS JOIN json_each(m.files) f`,
        args: [ids],
      },
      {
        sql: `INSERT OR IGNORE INTO memory_versions (memory_id, version, title, content, tags, files, importance, replaced_at)
              SELECT j.value ->> 'memory_id', j.value ->> 'version', j.value ->> 'title', j.value ->> 'content',
                     j.value ->> 'tags', j.value ->> 'files', j.value ->> 'importance', j.value ->> 'replaced_at'
              FROM json_each(?) j WHERE EXISTS (SELECT 1 FROM memories m WHERE m.id = j.value ->> 'memory_id')`,
        args: [JSON.stringify(versions)],
      },
      { sql: "SELECT m.id FROM json_each(?) j CROSS JOIN memories m ON m.id = j.value", args: [ids] },
    ],
    "write",
  )) as { rows: Row[] }[];
  return new Set((results[4]?.rows ?? []).map((row) => String(row.id)));
}

async function writeLinks(db: Database, plan: ImportPlan, resolved: Map<string, string>, results: ImportLineResult[]) {
  for (let i = 0; i < plan.links.length; i += CHUNK) {
    const chunk = plan.links.slice(i, i + CHUNK).map((planned) => {
      const key = (name: string) => (planned.byEntity ? `entity:${name}` : name);
      return {
        planned,
        from: resolved.get(key(planned.from)) ?? (planned.byEntity ? null : planned.from),
        to: resolved.get(key(planned.to)) ?? (planned.byEntity ? null : planned.to),
      };
    });
    const ids = JSON.stringify(chunk.flatMap((link) => [link.from, link.to]).filter(Boolean));
    const [known, links] = (await db.batch(
      [
        { sql: "SELECT m.id FROM json_each(?) j CROSS JOIN memories m ON m.id = j.value", args: [ids] },
        {
          sql: "SELECT l.from_id, l.to_id, l.relation FROM json_each(?) j CROSS JOIN memory_links l ON l.from_id = j.value",
          args: [ids],
        },
      ],
      "read",
    )) as { rows: Row[] }[];
    const exists = new Set((known?.rows ?? []).map((row) => String(row.id)));
    const linked = new Set((links?.rows ?? []).map((row) => `${row.from_id} ${row.to_id} ${row.relation}`));
    const inserts: Record<string, unknown>[] = [];
    for (const { planned, from, to } of chunk) {
      const base = { line: planned.line, record: "link" as const };
      if (!from || !to || !exists.has(from) || !exists.has(to)) {
        const missing = !from || !exists.has(from) ? planned.from : planned.to;
        results.push({
          ...base,
          status: "failed",
          reason: `links to ${JSON.stringify(missing)}, which is neither in the file nor stored`,
        });
      } else if (from === to) {
        results.push({ ...base, status: "skipped", reason: "links a memory to itself" });
      } else if (linked.has(`${from} ${to} ${planned.relation}`)) {
        results.push({ ...base, status: "skipped", reason: "link exists" });
      } else {
        linked.add(`${from} ${to} ${planned.relation}`);
        inserts.push({
          from_id: from,
          to_id: to,
          relation: planned.relation,
          created_at: ms(planned.createdAt) ?? Date.now(),
        });
        results.push({ ...base, status: "created", id: `${from} ${planned.relation} ${to}` });
      }
    }
    if (inserts.length > 0) {
      await db.execute(
        {
          sql: `INSERT OR IGNORE INTO memory_links (from_id, to_id, relation, created_at)
              SELECT j.value ->> 'from_id', j.value ->> 'to_id', j.value ->> 'relation', j.value ->> 'created_at' FROM json_each(?) j`,
          args: [JSON.stringify(inserts)],
        },
        "write",
      );
    }
  }
}

async function writeWorkSessions(db: Database, plan: ImportPlan, results: ImportLineResult[]) {
  for (let i = 0; i < plan.workSessions.length; i += CHUNK) {
    const chunk = plan.workSessions.slice(i, i + CHUNK);
    const known = await db.execute(
      {
        sql: "SELECT w.id FROM json_each(?) j CROSS JOIN work_sessions w ON w.id = j.value",
        args: [JSON.stringify(chunk.map((session) => session.id))],
      },
      "read",
    );
    const exists = new Set(known.rows.map((row) => String(row.id)));
    const statements: InStatement[] = [];
    for (const session of chunk) {
      if (exists.has(session.id)) {
        results.push({
          line: session.line,
          record: "work_session",
          status: "skipped",
          id: session.id,
          reason: "already imported (same id)",
        });
        continue;
      }
      statements.push({
        sql: `INSERT OR IGNORE INTO work_sessions (id, project, goal, outcome, next_steps, success, started_at, ended_at)
              VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        args: [
          session.id,
          session.project,
          session.goal ?? null,
          session.outcome ?? null,
          JSON.stringify(session.next_steps ?? []),
          session.success == null ? null : session.success ? 1 : 0,
          ms(session.started_at),
          ms(session.ended_at),
        ],
      });
      results.push({ line: session.line, record: "work_session", status: "created", id: session.id });
    }
    if (statements.length > 0) await db.batch(statements, "write");
  }
}
