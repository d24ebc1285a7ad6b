import { type Context, Hono } from "hono";
import { z } from "zod";
import { AppError } from "../../../shared/errors";
import { startMove } from "../../../shared/lifecycle/move/commands";
import { getMove, listMoves, MOVE_STEPS, type TenantMove } from "../../../shared/lifecycle/move/record";
import type { AppEnv } from "../../types";
import { parseJsonBody } from "../validation";
import { adminActorOf, cancelTenantMove, finalizeTenantMove, moveDeps, resumeTenantMove } from "./operations";
import { requireTenant, tenantObject } from "./tenant-lookup";

/**
 * `/api/tenants/:id/migrate` and `/api/tenants/:id/migrations/*`: move a
 * tenant to another database (docs/lifecycle.md). Mounted behind `requireAdmin`.
 * The tenant's Durable Object drives the migration from its alarm, so the
 * work outlives this request and survives the object being restarted.
 */
export const adminMigrations = new Hono<AppEnv>();

const migrateBody = z
  .object({
    target: z.union([
      z.object({ group: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "a Turso group name") }).strict(),
      z.object({ url: z.string().url().max(500), token: z.string().max(4000) }).strict(),
    ]),
  })
  .strict();

async function requireTenantMove(c: Context<AppEnv>, tenantId: string): Promise<TenantMove> {
  const id = c.req.param("mid") ?? "";
  const move = await getMove(c.get("services").mgmtDb, id);
  if (!move || move.tenantId !== tenantId) {
    throw new AppError("not_found", `no migration ${JSON.stringify(id)} for this tenant`, {
      code: "migration_not_found",
    });
  }
  return move;
}

adminMigrations.post("/migrate", async (c) => {
  const tenant = await requireTenant(c);
  const body = await parseJsonBody(c, migrateBody);
  const move = await startMove(moveDeps(c, tenant.id), tenant.id, body.target, adminActorOf(c));
  await tenantObject(c, tenant.id).driveMigration(move.id);
  c.header("Location", `/api/tenants/${tenant.id}/migrations/${move.id}`);
  return c.json(moveView(move), 202);
});

adminMigrations.get("/migrations", async (c) => {
  const tenant = await requireTenant(c);
  const moves = await listMoves(c.get("services").mgmtDb, tenant.id);
  return c.json({ object: "list", data: moves.map(moveView), has_more: false });
});

adminMigrations.get("/migrations/:mid", async (c) => {
  const tenant = await requireTenant(c);
  return c.json(moveView(await requireTenantMove(c, tenant.id)));
});

adminMigrations.post("/migrations/:mid/resume", async (c) => {
  const tenant = await requireTenant(c);
  const { id } = await requireTenantMove(c, tenant.id);
  return c.json(moveView(await resumeTenantMove(c, tenant.id, id)), 202);
});

adminMigrations.post("/migrations/:mid/cancel", async (c) => {
  const tenant = await requireTenant(c);
  const { id } = await requireTenantMove(c, tenant.id);
  return c.json(moveView(await cancelTenantMove(c, tenant.id, id)));
});

adminMigrations.post("/migrations/:mid/finalize", async (c) => {
  const tenant = await requireTenant(c);
  const { id } = await requireTenantMove(c, tenant.id);
  const { move, oldDatabaseDeleted } = await finalizeTenantMove(c, tenant.id, id);
  return c.json({ ...moveView(move), old_database_deleted: oldDatabaseDeleted });
});

/** The record as the operator sees it (object "tenant_migration", the API's name since the start): never a token. */
function moveView(migration: TenantMove) {
  return {
    id: migration.id,
    object: "tenant_migration",
    tenant_id: migration.tenantId,
    status: migration.status,
    step: migration.step,
    steps: MOVE_STEPS,
    source: { name: migration.source.name, url: migration.source.url, generation: migration.source.generation },
    target: {
      kind: migration.target.kind,
      group: migration.target.group,
      name: migration.target.name,
      url: migration.target.url,
    },
    tables: Object.fromEntries(
      Object.entries(migration.tables).map(([name, table]) => [
        name,
        {
          copied: table.copied ?? 0,
          source_rows: table.source?.rows ?? null,
          target_rows: table.target?.rows ?? null,
          source_checksum: table.source?.checksum ?? null,
          target_checksum: table.target?.checksum ?? null,
        },
      ]),
    ),
    error: migration.error,
    actor: migration.actor,
    retain_until: migration.retainUntil,
    created_at: migration.createdAt,
    updated_at: migration.updatedAt,
    completed_at: migration.completedAt,
    finalized_at: migration.finalizedAt,
  };
}
