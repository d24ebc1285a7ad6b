import { type InValue, LibsqlError } from "@libsql/client/web";
import { auditStatement } from "../audit";
import type { Config } from "../config";
import { decryptToken, encryptToken } from "../crypto/token-encryption";
import { type Database, type DatabaseClient, openDatabase } from "../db/client";
import { migrate } from "../db/migrate";
import { AppError } from "../errors";
import { tenantMigrations } from "../migrations/tenant";
import {
  createDatabase,
  createDatabaseToken,
  deleteDatabase,
  getDatabase,
  PlatformApiError,
} from "../tenants/turso-platform";
import { clearTables, copyTable, listTables, summarizeTable, type TableShape } from "./table-copy";
import {
  getMigration,
  insertMigrationStatement,
  MIGRATION_STEPS,
  type MigrationStep,
  migrationsDueForFinalize,
  newMigrationId,
  recordProgress,
  statusStatement,
  stepIndex,
  type TableProgress,
  type TenantMigration,
} from "./tenant-migrations";
import { lowerFence, raiseFence } from "./write-fence";

/**
 * Moving a tenant to another database while it keeps working. The steps
 * (see `MIGRATION_STEPS`) are driven from the durable record, each one safe
 * to repeat, so a driver that dies anywhere can be resumed by any other.
 * Reads keep going to the old database until the pointer switches; writes
 * are refused from the first step until the last (the tenant's Durable
 * Object refuses them up front, the write fence on the old database makes
 * sure none lands late).
 */

/** The tenant's Durable Object as the migration sees it: the switch that pauses and resumes writes. */
export interface TenantGate {
  markMigrating(migrationId: string): Promise<unknown> | unknown;
  /** `generation`: the database pointer's new generation, or null when the pointer did not move. */
  releaseMigrating(migrationId: string, generation: number | null): Promise<unknown> | unknown;
}

export interface MoveDeps {
  mgmt: Database;
  config: Config;
  gate: TenantGate;
}

export type MigrationTarget = { group: string } | { url: string; token: string };

export interface Actor {
  actor: string;
  ip?: string | null;
}

type Client = DatabaseClient;

function open(config: Config, url: string, authToken: string): Client {
  return openDatabase({ url, authToken }, config.dbTimeoutMs, { exactIntegers: true });
}

/** Turso shows `libsql://` URLs; the HTTP client wants `https://`. */
function httpUrl(url: string): string {
  const parsed = new URL(url.replace(/^libsql:\/\//, "https://"));
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new AppError("invalid_request", "target.url must be an https:// or libsql:// database URL", {
      code: "invalid_parameter",
    });
  }
  if (!parsed.pathname.endsWith("/")) parsed.pathname += "/";
  return parsed.toString();
}

/** Create the migration record (202 to the caller); the driver does the work. */
export async function startMigration(
  deps: MoveDeps,
  tenantId: string,
  target: MigrationTarget,
  by: Actor,
): Promise<TenantMigration> {
  const { mgmt, config } = deps;
  const current = await mgmt.execute(
    {
      sql: `SELECT d.name, d.url, d.auth_token_encrypted, d.generation FROM tenant_databases d
          JOIN tenants t ON t.id = d.tenant_id WHERE d.tenant_id = ? AND t.status != 'deleted'`,
      args: [tenantId],
    },
    "read",
  );
  const row = current.rows[0];
  if (!row) throw new AppError("not_found", `no tenant ${tenantId}`, { code: "tenant_not_found" });
  const id = newMigrationId();
  const url = "url" in target ? httpUrl(target.url) : null;
  if (url && url === String(row.url)) {
    throw new AppError("invalid_request", "target.url is the tenant's current database", { code: "invalid_parameter" });
  }
  const targetRecord: TenantMigration["target"] =
    "url" in target
      ? {
          kind: "url",
          group: null,
          name: `tenant-${tenantId}-${id.slice(4, 12)}`,
          url,
          tokenEncrypted: await encryptToken(config.dbTokenEncryptionKey, target.token, tenantId),
        }
      : { kind: "group", group: target.group, name: null, url: null, tokenEncrypted: null };
  try {
    await mgmt.batch(
      [
        insertMigrationStatement({
          id,
          tenantId,
          actor: by.actor,
          source: {
            name: String(row.name),
            url: String(row.url),
            tokenEncrypted: String(row.auth_token_encrypted),
            generation: Number(row.generation),
          },
          target: targetRecord,
        }),
        auditStatement({
          tenantId,
          actor: by.actor,
          action: "tenant.migration.start",
          target: id,
          // Where to, never with what token.
          details: "url" in target ? { targetHost: new URL(url as string).host } : { targetGroup: target.group },
          ip: by.ip,
        }),
      ],
      "write",
    );
  } catch (error) {
    if (error instanceof LibsqlError && error.code.startsWith("SQLITE_CONSTRAINT")) {
      throw new AppError("conflict", "this tenant already has an unfinished migration; resume or cancel it first", {
        code: "migration_in_progress",
      });
    }
    throw error;
  }
  return (await getMigration(mgmt, id)) as TenantMigration;
}

class Stop extends Error {
  constructor(readonly why: "deadline" | "not_running") {
    super(why);
  }
}

export interface AdvanceOptions {
  /** Stop (as if the process died) right after this step is recorded. Tests use it to interrupt at every step. */
  stopAfter?: MigrationStep;
  /** Epoch ms after which the driver stops at the next batch boundary; the caller drives again. */
  deadline?: number;
}

export interface AdvanceResult {
  migration: TenantMigration;
  /** False when the driver stopped early (deadline, `stopAfter`); drive again to carry on. */
  done: boolean;
}

/**
 * Drive a running migration from the step it has reached to the end (or to
 * `deadline`). A failure lowers the fence and releases the tenant, so writes
 * go on against the old database while the migration waits, `failed`, for
 * an operator to resume or cancel it.
 */
export async function advanceMigration(
  deps: MoveDeps,
  id: string,
  options: AdvanceOptions = {},
): Promise<AdvanceResult> {
  const { mgmt, config } = deps;
  let migration = await requireMigration(mgmt, id);
  const clients: Client[] = [];
  let sourceDb: Client | null = null;
  let targetDb: Client | null = null;
  try {
    const sourceToken = await decryptToken(
      config.dbTokenEncryptionKey,
      migration.source.tokenEncrypted,
      migration.tenantId,
    );
    sourceDb = open(config, migration.source.url, sourceToken);
    clients.push(sourceDb);
    while (migration.status === "running" && migration.step !== "resumed") {
      const next = MIGRATION_STEPS[stepIndex(migration.step) + 1] as MigrationStep;
      if (next !== "marked" && next !== "provisioned" && !targetDb) {
        const target = migration.target;
        const token = await decryptToken(
          config.dbTokenEncryptionKey,
          target.tokenEncrypted as string,
          migration.tenantId,
        );
        targetDb = open(config, target.url as string, token);
        clients.push(targetDb);
      }
      const progressed = await runStep(deps, migration, next, sourceDb, targetDb, options);
      if (!progressed) break;
      await mgmt.execute(
        auditStatement({
          tenantId: migration.tenantId,
          actor: "system",
          action: "tenant.migration.step",
          target: id,
          details: { step: next, ...(next === "verified" && { tables: migration.tables }) },
        }),
        "write",
      );
      migration = (await getMigration(mgmt, id)) as TenantMigration;
      if (options.stopAfter === next) return { migration, done: false };
    }
    return { migration, done: migration.status !== "running" || migration.step === "resumed" };
  } catch (error) {
    if (error instanceof Stop)
      return { migration: (await getMigration(mgmt, id)) as TenantMigration, done: error.why === "not_running" };
    await failMigration(deps, migration, error, sourceDb);
    return { migration: (await getMigration(mgmt, id)) as TenantMigration, done: true };
  } finally {
    for (const client of clients) client.close();
  }
}

/** Run one step and record it; false when the record stopped running meanwhile. */
async function runStep(
  deps: MoveDeps,
  migration: TenantMigration,
  step: MigrationStep,
  sourceDb: Client,
  targetDb: Client | null,
  options: AdvanceOptions,
): Promise<boolean> {
  const { mgmt, config, gate } = deps;
  switch (step) {
    case "marked": {
      // The source is brought to the latest schema first (before the fence,
      // which would refuse a data migration) so both sides have one shape.
      await migrate(sourceDb, tenantMigrations);
      await gate.markMigrating(migration.id);
      await raiseFence(sourceDb, await listTables(sourceDb), migration.id);
      return recordProgress(mgmt, migration.id, { step });
    }
    case "provisioned": {
      if (migration.target.url) return recordProgress(mgmt, migration.id, { step });
      const name = `tenant-${migration.tenantId}-${migration.id.slice(4, 12)}`;
      const group = migration.target.group ?? config.turso.group;
      let url: string;
      try {
        url = (await createDatabase(config.turso, config.dbTimeoutMs, name, group)).url;
      } catch (error) {
        // Created by an attempt that died before recording it: take it over.
        if (!(error instanceof PlatformApiError && error.status === 409)) throw error;
        url = (await getDatabase(config.turso, config.dbTimeoutMs, name)).url;
      }
      const token = await createDatabaseToken(config.turso, config.dbTimeoutMs, name);
      return recordProgress(mgmt, migration.id, {
        step,
        target: {
          ...migration.target,
          name,
          url,
          tokenEncrypted: await encryptToken(config.dbTokenEncryptionKey, token, migration.tenantId),
        },
      });
    }
    case "schema_applied": {
      const target = targetDb as Client;
      await assertTargetIsOurs(target, migration.tenantId);
      await migrate(target, tenantMigrations);
      // Migrations may seed rows (the default project) that the copy brings over anyway.
      await clearTables(target, await listTables(target));
      return recordProgress(mgmt, migration.id, { step, tables: {} });
    }
    case "copied": {
      const target = targetDb as Client;
      const tables = await matchingTables(sourceDb, target);
      const progress: Record<string, TableProgress> = { ...migration.tables };
      let lastReport = Date.now();
      for (const table of tables) {
        progress[table.name] = {
          copied: await copyTable(sourceDb, target, table, {
            batchRows: config.tenantMigration.batchRows,
            onBatch: async (copied) => {
              progress[table.name] = { copied };
              if (Date.now() - lastReport < 1000) return;
              lastReport = Date.now();
              if (!(await recordProgress(mgmt, migration.id, { tables: progress }))) throw new Stop("not_running");
              if (options.deadline !== undefined && Date.now() > options.deadline) throw new Stop("deadline");
            },
          }),
        };
      }
      return recordProgress(mgmt, migration.id, { step, tables: progress });
    }
    case "verified": {
      const target = targetDb as Client;
      const tables = await matchingTables(sourceDb, target);
      const pageRows = Math.max(config.tenantMigration.batchRows, 2000);
      const progress: Record<string, TableProgress> = {};
      const mismatched: string[] = [];
      for (const table of tables) {
        const [source, copy] = await Promise.all([
          summarizeTable(sourceDb, table, pageRows),
          summarizeTable(target, table, pageRows),
        ]);
        progress[table.name] = { copied: copy.rows, source, target: copy };
        if (source.rows !== copy.rows || source.checksum !== copy.checksum) mismatched.push(table.name);
      }
      migration.tables = progress;
      if (mismatched.length > 0) {
        await recordProgress(mgmt, migration.id, { tables: progress });
        throw new AppError("conflict", `copy differs from the source in: ${mismatched.join(", ")}`);
      }
      return recordProgress(mgmt, migration.id, { step, tables: progress });
    }
    case "switched":
      return switchPointer(mgmt, migration, targetDb as Client);
    case "resumed": {
      await gate.releaseMigrating(migration.id, migration.source.generation + 1);
      const retainUntil = new Date(Date.now() + config.tenantMigration.retentionMs).toISOString();
      await mgmt.batch(
        [
          {
            sql: "UPDATE tenant_migrations SET step = 'resumed' WHERE id = ? AND status = 'running'",
            args: [migration.id],
          },
          statusStatement(migration.id, "completed", { retainUntil, from: ["running"] }),
          auditStatement({
            tenantId: migration.tenantId,
            actor: "system",
            action: "tenant.migration.complete",
            target: migration.id,
            details: { retainOldDatabaseUntil: retainUntil },
          }),
        ],
        "write",
      );
      return true;
    }
    default:
      throw new Error(`no step ${step}`);
  }
}

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

/**
 * The switch: the tenant's database pointer (URL, encrypted token, schema
 * version, generation + 1) and the record's step move in one transaction, and
 * only if the pointer is still the one the migration started from and the
 * record is still running and verified. A cancel that got in first wins.
 */
async function switchPointer(mgmt: Database, migration: TenantMigration, target: Client): Promise<boolean> {
  const version = await target.execute("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations", "read");
  const guard = "EXISTS (SELECT 1 FROM tenant_migrations WHERE id = ? AND status = 'running' AND step = 'verified')";
  const audit = auditStatement({
    tenantId: migration.tenantId,
    actor: "system",
    action: "tenant.migration.switch",
    target: migration.id,
    before: { database: migration.source.name, generation: migration.source.generation },
    after: { database: migration.target.name, generation: migration.source.generation + 1 },
  }) as { sql: string; args: InValue[] };
  await mgmt.batch(
    [
      {
        sql: `UPDATE tenant_databases SET name = ?, url = ?, auth_token_encrypted = ?, schema_version = ?,
                generation = generation + 1, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
              WHERE tenant_id = ? AND generation = ? AND ${guard}`,
        args: [
          migration.target.name,
          migration.target.url,
          migration.target.tokenEncrypted,
          Number(version.rows[0]?.v ?? 0),
          migration.tenantId,
          migration.source.generation,
          migration.id,
        ],
      },
      {
        sql: `UPDATE tenant_migrations SET step = 'switched', updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
              WHERE id = ? AND changes() = 1`,
        args: [migration.id],
      },
      // Written only when the switch happened (changes() is the previous statement's).
      { sql: `${audit.sql.replace(/VALUES \((.*)\)$/, "SELECT $1")} WHERE changes() = 1`, args: audit.args },
    ],
    "write",
  );
  const after = await getMigration(mgmt, migration.id);
  if (after?.step === "switched") return true;
  if (after?.status !== "running") return false;
  throw new AppError("conflict", "the tenant's database pointer moved during the migration; cancel and start again");
}

async function failMigration(
  deps: MoveDeps,
  migration: TenantMigration,
  error: unknown,
  sourceDb: Database | null,
): Promise<void> {
  const { mgmt, gate } = deps;
  const message = `${error instanceof Error ? error.message : String(error)}`.slice(0, 500);
  const current = await getMigration(mgmt, migration.id);
  const step = current?.step ?? migration.step;
  await mgmt.batch(
    [
      statusStatement(migration.id, "failed", { error: `while moving past ${step}: ${message}`, from: ["running"] }),
      auditStatement({
        tenantId: migration.tenantId,
        actor: "system",
        action: "tenant.migration.fail",
        target: migration.id,
        details: { step, error: message },
      }),
    ],
    "write",
  );
  // Before the switch the old database is still the tenant's: let it write
  // again rather than wait for an operator. After the switch, release onto the new one.
  if (stepIndex(step) < stepIndex("switched")) {
    if (sourceDb) await lowerFence(sourceDb);
    await gate.releaseMigrating(migration.id, null);
  } else {
    await gate.releaseMigrating(migration.id, migration.source.generation + 1);
  }
}

/**
 * Carry on with a migration. A failed one starts again from the top (its
 * fence was lowered, so the tenant may have written since): the new database
 * is kept, emptied and copied again.
 */
export async function resumeMigration(deps: MoveDeps, id: string, by: Actor): Promise<TenantMigration> {
  const migration = await requireMigration(deps.mgmt, id);
  if (migration.status === "running") return migration;
  if (migration.status !== "failed") {
    throw new AppError("conflict", `migration is ${migration.status}; only a running or failed one can be resumed`, {
      code: "migration_not_resumable",
    });
  }
  const restartFrom = stepIndex(migration.step) >= stepIndex("switched") ? migration.step : "requested";
  await deps.mgmt.batch(
    [
      {
        sql: "UPDATE tenant_migrations SET status = 'running', error = NULL, step = ? WHERE id = ? AND status = 'failed'",
        args: [restartFrom, id],
      },
      auditStatement({
        tenantId: migration.tenantId,
        actor: by.actor,
        action: "tenant.migration.resume",
        target: id,
        details: { from: restartFrom },
        ip: by.ip,
      }),
    ],
    "write",
  );
  return requireMigration(deps.mgmt, id);
}

/**
 * Give up a migration that has not switched yet: the tenant stays on (and
 * writes again to) its old database; a database the migration created is
 * deleted. Repeating it finishes a clean-up that was interrupted.
 */
export async function cancelMigration(deps: MoveDeps, id: string, by: Actor): Promise<TenantMigration> {
  const { mgmt, config, gate } = deps;
  const migration = await requireMigration(mgmt, id);
  if (migration.status !== "cancelled") {
    const result = (await mgmt.batch(
      [
        {
          sql: `UPDATE tenant_migrations SET status = 'cancelled', updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                WHERE id = ? AND status IN ('running', 'failed') AND step NOT IN ('switched', 'resumed')`,
          args: [id],
        },
        auditStatement({
          tenantId: migration.tenantId,
          actor: by.actor,
          action: "tenant.migration.cancel",
          target: id,
          details: { step: migration.step },
          ip: by.ip,
        }),
      ],
      "write",
    )) as { rowsAffected: number }[];
    if (result[0]?.rowsAffected !== 1) {
      const now = await requireMigration(mgmt, id);
      throw new AppError(
        "conflict",
        `migration is ${now.status} at step ${now.step}; a migration can be cancelled only before the switch`,
        { code: "migration_not_cancellable" },
      );
    }
  }
  const source = open(
    config,
    migration.source.url,
    await decryptToken(config.dbTokenEncryptionKey, migration.source.tokenEncrypted, migration.tenantId),
  );
  try {
    await lowerFence(source);
  } finally {
    source.close();
  }
  await gate.releaseMigrating(id, null);
  if (migration.target.kind === "group" && migration.target.name) {
    await deleteDatabase(config.turso, config.dbTimeoutMs, migration.target.name).catch((error: unknown) => {
      if (!(error instanceof PlatformApiError && error.status === 404)) throw error;
    });
  }
  return requireMigration(mgmt, id);
}

/**
 * Delete the old database of a completed migration (an operator's explicit
 * call, or the retention period ran out). Idempotent.
 */
export async function finalizeMigration(
  deps: Pick<MoveDeps, "mgmt" | "config">,
  id: string,
  by: Actor,
): Promise<{ migration: TenantMigration; oldDatabaseDeleted: boolean }> {
  const { mgmt, config } = deps;
  const migration = await requireMigration(mgmt, id);
  if (migration.status === "finalized") return { migration, oldDatabaseDeleted: true };
  if (migration.status !== "completed") {
    throw new AppError("conflict", `migration is ${migration.status}; only a completed one can be finalized`, {
      code: "migration_not_completed",
    });
  }
  let deleted = true;
  try {
    await deleteDatabase(config.turso, config.dbTimeoutMs, migration.source.name);
  } catch (error) {
    // Gone already (an earlier finalize that died before recording it).
    if (!(error instanceof PlatformApiError && error.status === 404)) throw error;
    deleted = false;
  }
  await mgmt.batch(
    [
      statusStatement(id, "finalized", { from: ["completed"] }),
      auditStatement({
        tenantId: migration.tenantId,
        actor: by.actor,
        action: "tenant.migration.finalize",
        target: id,
        details: { oldDatabase: migration.source.name, found: deleted },
        ip: by.ip,
      }),
    ],
    "write",
  );
  return { migration: await requireMigration(mgmt, id), oldDatabaseDeleted: deleted };
}

async function requireMigration(mgmt: Database, id: string): Promise<TenantMigration> {
  const migration = await getMigration(mgmt, id);
  if (!migration) throw new AppError("not_found", `no migration ${id}`, { code: "migration_not_found" });
  return migration;
}

/**
 * Finalize every completed migration whose retention period has run out
 * (`MIGRATION_RETENTION_HOURS`); run by the Worker's cron trigger. One that
 * fails is left for the next run. Returns the ids finalized.
 */
export async function finalizeExpiredMigrations(
  deps: Pick<MoveDeps, "mgmt" | "config">,
  now = Date.now(),
  onError: (id: string, error: unknown) => void = () => {},
): Promise<string[]> {
  const finalized: string[] = [];
  for (const id of await migrationsDueForFinalize(deps.mgmt, new Date(now).toISOString())) {
    try {
      await finalizeMigration(deps, id, { actor: "system:retention" });
      finalized.push(id);
    } catch (error) {
      onError(id, error);
    }
  }
  return finalized;
}
