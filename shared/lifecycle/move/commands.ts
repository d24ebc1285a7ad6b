import { LibsqlError } from "@libsql/client/web";
import { auditStatement } from "../../audit";
import { encryptToken } from "../../crypto/token-encryption";
import { AppError } from "../../errors";
import { deleteDatabase, PlatformApiError } from "../../tenants/turso-platform";
import { type Actor, httpUrl, type MoveDeps, type MoveTarget, openSource } from "./context";
import {
  cancelStatement,
  insertMoveStatement,
  movesDueForFinalize,
  newMoveId,
  requireMove,
  restartStatement,
  statusStatement,
  stepIndex,
  type TenantMove,
} from "./record";
import { lowerFence } from "./write-fence";

/**
 * What an operator does to a move: start it, resume a failed one, cancel one
 * that has not switched, finalize a completed one (delete the old database).
 * The work itself is `advanceMove`'s, run from the tenant's Durable Object.
 */

/** Create the move's record (202 to the caller); the driver does the work. */
export async function startMove(deps: MoveDeps, tenantId: string, target: MoveTarget, by: Actor): Promise<TenantMove> {
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
  const id = newMoveId();
  let targetRecord: TenantMove["target"];
  let where: Record<string, string>;
  if ("url" in target) {
    const url = httpUrl(target.url);
    if (url === String(row.url)) {
      throw new AppError("invalid_request", "target.url is the tenant's current database", {
        code: "invalid_parameter",
      });
    }
    const tokenEncrypted = await encryptToken(config.dbTokenEncryptionKey, target.token, tenantId);
    targetRecord = { kind: "url", group: null, name: `tenant-${tenantId}-${id.slice(4, 12)}`, url, tokenEncrypted };
    where = { targetHost: new URL(url).host };
  } else {
    targetRecord = { kind: "group", group: target.group, name: null, url: null, tokenEncrypted: null };
    where = { targetGroup: target.group };
  }
  try {
    await mgmt.batch(
      [
        insertMoveStatement({
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
        // Where to, never with what token.
        auditStatement({
          tenantId,
          actor: by.actor,
          action: "tenant.migration.start",
          target: id,
          details: where,
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
  return requireMove(mgmt, id);
}

/**
 * Carry on with a move. A failed one starts again from the top (its fence
 * was lowered, so the tenant may have written since): the new database is
 * kept, emptied and copied again.
 */
export async function resumeMove(deps: MoveDeps, id: string, by: Actor): Promise<TenantMove> {
  const move = await requireMove(deps.mgmt, id);
  if (move.status === "running") return move;
  if (move.status !== "failed") {
    throw new AppError("conflict", `migration is ${move.status}; only a running or failed one can be resumed`, {
      code: "migration_not_resumable",
    });
  }
  const restartFrom = stepIndex(move.step) >= stepIndex("switched") ? move.step : "requested";
  await deps.mgmt.batch(
    [
      restartStatement(id, restartFrom),
      auditStatement({
        tenantId: move.tenantId,
        actor: by.actor,
        action: "tenant.migration.resume",
        target: id,
        details: { from: restartFrom },
        ip: by.ip,
      }),
    ],
    "write",
  );
  return requireMove(deps.mgmt, id);
}

/**
 * Give up a move that has not switched yet: the tenant stays on (and writes
 * again to) its old database; a database the move created is deleted.
 * Repeating it finishes a clean-up that was interrupted.
 */
export async function cancelMove(deps: MoveDeps, id: string, by: Actor): Promise<TenantMove> {
  const { mgmt, config, gate } = deps;
  const move = await requireMove(mgmt, id);
  if (move.status !== "cancelled") {
    const [cancelled] = await mgmt.batch(
      [
        cancelStatement(id),
        auditStatement({
          tenantId: move.tenantId,
          actor: by.actor,
          action: "tenant.migration.cancel",
          target: id,
          details: { step: move.step },
          ip: by.ip,
        }),
      ],
      "write",
    );
    if (cancelled?.rowsAffected !== 1) {
      const now = await requireMove(mgmt, id);
      throw new AppError(
        "conflict",
        `migration is ${now.status} at step ${now.step}; a migration can be cancelled only before the switch`,
        { code: "migration_not_cancellable" },
      );
    }
  }
  const source = await openSource(config, move);
  try {
    await lowerFence(source);
  } finally {
    source.close();
  }
  await gate.releaseMigrating(id, null);
  if (move.target.kind === "group" && move.target.name) {
    await deleteDatabase(config.turso, config.dbTimeoutMs, move.target.name).catch((error: unknown) => {
      if (!(error instanceof PlatformApiError && error.status === 404)) throw error;
    });
  }
  return requireMove(mgmt, id);
}

/**
 * Delete the old database of a completed move (an operator's explicit call,
 * or the retention period ran out). Idempotent.
 */
export async function finalizeMove(
  deps: Pick<MoveDeps, "mgmt" | "config">,
  id: string,
  by: Actor,
): Promise<{ move: TenantMove; oldDatabaseDeleted: boolean }> {
  const { mgmt, config } = deps;
  const move = await requireMove(mgmt, id);
  if (move.status === "finalized") return { move, oldDatabaseDeleted: true };
  if (move.status !== "completed") {
    throw new AppError("conflict", `migration is ${move.status}; only a completed one can be finalized`, {
      code: "migration_not_completed",
    });
  }
  let deleted = true;
  try {
    await deleteDatabase(config.turso, config.dbTimeoutMs, move.source.name);
  } catch (error) {
    // Gone already (an earlier finalize that died before recording it).
    if (!(error instanceof PlatformApiError && error.status === 404)) throw error;
    deleted = false;
  }
  await mgmt.batch(
    [
      statusStatement(id, "finalized", { from: ["completed"] }),
      auditStatement({
        tenantId: move.tenantId,
        actor: by.actor,
        action: "tenant.migration.finalize",
        target: id,
        details: { oldDatabase: move.source.name, found: deleted },
        ip: by.ip,
      }),
    ],
    "write",
  );
  return { move: await requireMove(mgmt, id), oldDatabaseDeleted: deleted };
}

/**
 * Finalize every completed move whose retention period has run out
 * (`MIGRATION_RETENTION_HOURS`); run by the Worker's cron trigger. One that
 * fails is left for the next run. Returns the ids finalized.
 */
export async function finalizeExpiredMoves(
  deps: Pick<MoveDeps, "mgmt" | "config">,
  now = Date.now(),
  onError: (id: string, error: unknown) => void = () => {},
): Promise<string[]> {
  const finalized: string[] = [];
  for (const id of await movesDueForFinalize(deps.mgmt, new Date(now).toISOString())) {
    try {
      await finalizeMove(deps, id, { actor: "system:retention" });
      finalized.push(id);
    } catch (error) {
      onError(id, error);
    }
  }
  return finalized;
}
