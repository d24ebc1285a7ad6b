import { z } from "zod";
import { FIELDS, TEXT_LIMITS } from "../../memory/fields";
import { MEMORY_STATUSES } from "../../memory/model";

/**
 * What an imported record must be before it is written: the memory field
 * rules (`shared/memory/fields.ts`, the tools' own) for every field a tool
 * could set, and bounds on what only an export carries (versions, counters,
 * times). Fields our export always writes but another writer may leave out
 * take the value a new memory would have.
 */

const isoTime = z
  .string()
  .max(40, { error: "must be an ISO 8601 time" })
  .refine((value) => !Number.isNaN(Date.parse(value)), { error: "must be an ISO 8601 time" });

const versionNumber = z
  .number()
  .int({ error: "must be a whole number from 1 to 1000000" })
  .min(1, { error: "must be a whole number from 1 to 1000000" })
  .max(1_000_000, { error: "must be a whole number from 1 to 1000000" });

/** Who wrote a memory or version, as our export carries it (`shared/memory/attribution.ts`); kept as given. */
const name = z.string().max(100).nullable();
const attribution = z
  .object({
    account: name,
    via: z.object({ kind: z.enum(["key", "app", "console", "operator", "import"]), name }),
    client: z.object({ name: z.string().max(100), version: name }).nullable(),
  })
  .nullish()
  .transform((value) => value ?? null);

const MEMORY_ID = /^m_[A-Za-z0-9]{1,64}$/;
const WORK_SESSION_ID = /^ws_[A-Za-z0-9]{1,64}$/;

export const importedMemoryRule = z.object({
  id: z.string().regex(MEMORY_ID, { error: "must be an id like m_…" }).nullable(),
  project: FIELDS.project,
  kind: FIELDS.kind,
  title: FIELDS.title.nullish().transform((value) => value || null),
  content: FIELDS.content,
  tags: FIELDS.tags.default([]),
  files: FIELDS.files.default([]),
  importance: FIELDS.importance.default(3),
  status: z.enum(MEMORY_STATUSES).default("active"),
  supersedes: FIELDS.memoryId.nullish().transform((value) => value ?? null),
  superseded_by: FIELDS.memoryId.nullish().transform((value) => value ?? null),
  source: FIELDS.source.nullish().transform((value) => value ?? null),
  idempotency_key: FIELDS.idempotencyKey.nullish().transform((value) => value ?? null),
  version: versionNumber.default(1),
  issue: z
    .object({
      status: z.enum(["open", "resolved"]),
      severity: FIELDS.severity.nullish().transform((value) => value ?? null),
      resolution: FIELDS.issueText.nullish().transform((value) => value ?? null),
      resolved_at: isoTime.nullish().transform((value) => value ?? null),
    })
    .nullish()
    .transform((value) => value ?? null),
  created_at: isoTime,
  updated_at: isoTime.nullish().transform((value) => value ?? null),
  accessed_at: isoTime.nullish().transform((value) => value ?? null),
  access_count: z
    .number()
    .int({ error: "must be a whole number of at least 0" })
    .min(0, { error: "must be a whole number of at least 0" })
    .max(1_000_000_000, { error: "must be at most 1000000000" })
    .default(0),
  forgotten_at: isoTime.nullish().transform((value) => value ?? null),
  written_by: attribution,
  changed_by: attribution,
  versions: z
    .array(
      z.object({
        version: versionNumber,
        title: FIELDS.title.nullish().transform((value) => value ?? null),
        content: FIELDS.content,
        tags: FIELDS.tags.default([]),
        files: FIELDS.files.default([]),
        importance: FIELDS.importance.default(3),
        replaced_at: isoTime,
        written_by: attribution,
      }),
    )
    .max(TEXT_LIMITS.importedVersions, { error: `at most ${TEXT_LIMITS.importedVersions} versions` })
    .default([]),
});
export type ImportedMemory = z.output<typeof importedMemoryRule>;

export const importedProjectRule = z.object({
  slug: FIELDS.project,
  name: FIELDS.projectName,
  created_at: isoTime.nullish().transform((value) => value ?? null),
});

export const importedWorkSessionRule = z.object({
  id: z.string().regex(WORK_SESSION_ID, { error: "must be an id like ws_…" }),
  project: FIELDS.project,
  goal: FIELDS.goal.nullish().transform((value) => value ?? null),
  outcome: FIELDS.outcome.nullish().transform((value) => value ?? null),
  next_steps: FIELDS.nextSteps.default([]),
  success: z
    .boolean()
    .nullish()
    .transform((value) => value ?? null),
  started_at: isoTime,
  ended_at: isoTime.nullish().transform((value) => value ?? null),
  started_by: attribution,
  ended_by: attribution,
});
export type ImportedWorkSession = z.output<typeof importedWorkSessionRule>;
