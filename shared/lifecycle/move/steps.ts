import { auditStatement, conditionalAuditStatement } from "../../audit";
import { encryptToken } from "../../crypto/token-encryption";
import type { Database, DatabaseClient } from "../../db/client";
import { migrate } from "../../db/migrate";
import { AppError } from "../../errors";
import { tenantMigrations } from "../../migrations/tenant";
import { createDatabase, createDatabaseToken, getDatabase, PlatformApiError } from "../../tenants/turso-platform";
import type { MoveDeps } from "./context";
import {
  type MoveStep,
  recordProgress,
  requireMove,
  resumedStatement,
  statusStatement,
  switchedStatement,
  type TableProgress,
  type TenantMove,
  VERIFIED_AND_RUNNING,
} from "./record";
import { clearTables, copyTable, listTables, summarizeTable, type TableShape } from "./table-copy";
import { raiseFence } from "./write-fence";

/**
 * The steps of a move, one function each, in the order of `MOVE_STEPS`. A
 * step does its work and records that it is done; each is safe to repeat,
 * because a driver that dies after the work but before the record runs it
 * again. A step returns false when the record stopped running meanwhile (an
 * operator cancelled it): the driver then stops without recording anything.
 */
export interface StepContext {
  deps: MoveDeps;
  /** The record as it stood before this step. */
  move: TenantMove;
  /** The tenant's database when the move began. */
  source: DatabaseClient;
  /** The new database, opened on first use and once per drive; there from `provisioned` on. */
  target(): Promise<DatabaseClient>;
  options: StepOptions;
}

export interface StepOptions {
  /** Epoch ms after which the copy stops at the next batch boundary; the caller drives again. */
  deadline?: number;
}

export type StepFn = (context: StepContext) => Promise<boolean>;

/** Thrown inside a step to stop the drive without failing the move. */
export class Stop extends Error {
  constructor(readonly why: "deadline" | "not_running") {
    super(why);
  }
}

/**
 * The source is brought to the latest schema first (before the fence, which
 * would refuse a data migration) so both sides have one shape. The fence
 * goes up once every lease granted before the mark has expired (at most one
 * lease lifetime, 1 s): a write admitted under such a lease then lands
 * before the fence and is copied, rather than being refused by it. The
 * fence, not this wait, is what makes the copy exact: a write still in
 * flight when it goes up is refused whole.
 */
const mark: StepFn = async ({ deps, move, source }) => {
  await migrate(source, tenantMigrations);
  const marked = await deps.gate.markMigrating(move.id);
  const until = marked?.leasedUntil ?? null;
  // By the clock, not by one timer: a timer may fire early, and tests move the clock by hand.
  while (until !== null && Date.now() < until) {
    await new Promise((done) => setTimeout(done, Math.min(100, until - Date.now())));
  }
  await raiseFence(source, await listTables(source), move.id);
  return recordProgress(deps.mgmt, move.id, { step: "marked" });
};

/**
 * A database in a group is created here. A given one (URL and token) already
 * exists, and so does one an earlier attempt of this move created: a move
 * restarted after a failure keeps its new database and copies into it again.
 */
const provision: StepFn = async ({ deps, move }) => {
  const { mgmt, config } = deps;
  if (move.target.url) return recordProgress(mgmt, move.id, { step: "provisioned" });
  const name = `tenant-${move.tenantId}-${move.id.slice(4, 12)}`;
  const group = move.target.group ?? config.turso.group;
  let url: string;
  try {
    url = (await createDatabase(config.turso, config.dbTimeoutMs, name, group)).url;
  } catch (error) {
    // Created by an attempt that died before recording it: take it over.
    if (!(error instanceof PlatformApiError && error.status === 409)) throw error;
    url = (await getDatabase(config.turso, config.dbTimeoutMs, name)).url;
  }
  const token = await createDatabaseToken(config.turso, config.dbTimeoutMs, name);
  const tokenEncrypted = await encryptToken(config.dbTokenEncryptionKey, token, move.tenantId);
  return recordProgress(mgmt, move.id, { step: "provisioned", target: { ...move.target, name, url, tokenEncrypted } });
};

const applySchema: StepFn = async ({ deps, move, target }) => {
  const db = await target();
  await assertTargetIsOurs(db, move.tenantId);
  await migrate(db, tenantMigrations);
  // Migrations may seed rows (the default project) that the copy brings over anyway.
  await clearTables(db, await listTables(db));
  return recordProgress(deps.mgmt, move.id, { step: "schema_applied", tables: {} });
};

/** Table by table, in batches; progress is recorded about once a second, which is also when a deadline is checked. */
const copy: StepFn = async ({ deps, move, source, target, options }) => {
  const { mgmt, config } = deps;
  const db = await target();
  const progress: Record<string, TableProgress> = { ...move.tables };
  let lastReport = Date.now();
  for (const table of await matchingTables(source, db)) {
    progress[table.name] = {
      copied: await copyTable(source, db, table, {
        batchRows: config.tenantMigration.batchRows,
        onBatch: async (copied) => {
          progress[table.name] = { copied };
          if (Date.now() - lastReport < 1000) return;
          lastReport = Date.now();
          if (!(await recordProgress(mgmt, move.id, { tables: progress }))) throw new Stop("not_running");
          if (options.deadline !== undefined && Date.now() > options.deadline) throw new Stop("deadline");
        },
      }),
    };
  }
  return recordProgress(mgmt, move.id, { step: "copied", tables: progress });
};

const verify: StepFn = async ({ deps, move, source, target }) => {
  const { mgmt, config } = deps;
  const db = await target();
  const pageRows = Math.max(config.tenantMigration.batchRows, 2000);
  const progress: Record<string, TableProgress> = {};
  const mismatched: string[] = [];
  for (const table of await matchingTables(source, db)) {
    const [original, copied] = await Promise.all([
      summarizeTable(source, table, pageRows),
      summarizeTable(db, table, pageRows),
    ]);
    progress[table.name] = { copied: copied.rows, source: original, target: copied };
    if (original.rows !== copied.rows || original.checksum !== copied.checksum) mismatched.push(table.name);
  }
  if (mismatched.length > 0) {
    await recordProgress(mgmt, move.id, { tables: progress });
    throw new AppError("conflict", `copy differs from the source in: ${mismatched.join(", ")}`);
  }
  return recordProgress(mgmt, move.id, { step: "verified", tables: progress });
};

/**
 * The switch: the tenant's database pointer (URL, encrypted token, schema
 * version, generation + 1) and the record's step move in one transaction, and
 * only if the pointer is still the one the move started from and the record
 * is still running and verified. A cancel that got in first wins.
 */
const switchPointer: StepFn = async ({ deps, move, target }) => {
  const { mgmt } = deps;
  const version = await (await target()).execute(
    "SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations",
    "read",
  );
  await mgmt.batch(
    [
      {
        sql: `UPDATE tenant_databases SET name = ?, url = ?, auth_token_encrypted = ?, schema_version = ?,
                generation = generation + 1, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
              WHERE tenant_id = ? AND generation = ? AND ${VERIFIED_AND_RUNNING}`,
        args: [
          move.target.name,
          move.target.url,
          move.target.tokenEncrypted,
          Number(version.rows[0]?.v ?? 0),
          move.tenantId,
          move.source.generation,
          move.id,
        ],
      },
      switchedStatement(move.id),
      // Written only when the switch happened (changes() is the previous statement's).
      conditionalAuditStatement(
        {
          tenantId: move.tenantId,
          actor: "system",
          action: "tenant.migration.switch",
          target: move.id,
          before: { database: move.source.name, generation: move.source.generation },
          after: { database: move.target.name, generation: move.source.generation + 1 },
        },
        { sql: "changes() = 1" },
      ),
    ],
    "write",
  );
  const after = await requireMove(mgmt, move.id);
  if (after.step === "switched") return true;
  if (after.status !== "running") return false;
  throw new AppError("conflict", "the tenant's database pointer moved during the move; cancel and start again");
};

/** Writes go on, on the new database; the old one is kept, fenced, until the retention period runs out. */
const resume: StepFn = async ({ deps, move }) => {
  const { mgmt, config, gate } = deps;
  await gate.releaseMigrating(move.id, move.source.generation + 1);
  const retainUntil = new Date(Date.now() + config.tenantMigration.retentionMs).toISOString();
  await mgmt.batch(
    [
      resumedStatement(move.id),
      statusStatement(move.id, "completed", { retainUntil, from: ["running"] }),
      auditStatement({
        tenantId: move.tenantId,
        actor: "system",
        action: "tenant.migration.complete",
        target: move.id,
        details: { retainOldDatabaseUntil: retainUntil },
      }),
    ],
    "write",
  );
  return true;
};

/** The function that takes a move to each step from the one before it. */
export const STEPS: Record<Exclude<MoveStep, "requested">, StepFn> = {
  marked: mark,
  provisioned: provision,
  schema_applied: applySchema,
  copied: copy,
  verified: verify,
  switched: switchPointer,
  resumed: resume,
};

/** A given target must be empty, or hold this tenant's own copy from an earlier attempt. */
async function assertTargetIsOurs(target: Database, tenantId: string): Promise<void> {
  const tables = (await listTables(target)).map((table) => table.name);
  if (tables.length === 0) return;
  const owner = tables.includes("tenant_meta")
    ? (await target.execute("SELECT value FROM tenant_meta WHERE key = 'tenant_id'", "read")).rows[0]?.value
    : "someone else";
  if (owner != null && String(owner) !== tenantId) {
    throw new AppError("conflict", "the target database is not empty and does not belong to this tenant");
  }
}

/** The source's tables, after checking the target has each of them with the same columns. */
async function matchingTables(source: Database, target: Database): Promise<TableShape[]> {
  const [from, to] = await Promise.all([listTables(source), listTables(target)]);
  const byName = new Map(to.map((table) => [table.name, table]));
  for (const table of from) {
    const other = byName.get(table.name);
    const same = other && [...table.columns].sort().join(",") === [...other.columns].sort().join(",");
    if (!same) throw new AppError("conflict", `table ${table.name} has a different shape in the target database`);
  }
  return from;
}
