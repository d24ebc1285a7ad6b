import { type Context, Hono } from "hono";
import { z } from "zod";
import { AppError } from "../../../shared/errors";
import {
  cancelMigration,
  finalizeMigration,
  type MoveDeps,
  resumeMigration,
  startMigration,
} from "../../../shared/lifecycle/move-tenant";
import {
  getMigration,
  listMigrations,
  MIGRATION_STEPS,
  type TenantMigration,
} from "../../../shared/lifecycle/tenant-migrations";
import { clientIp } from "../../middleware/ip-rate-limit";
import type { AppEnv } from "../../types";
import { parseJsonBody } from "../validation";
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

function deps(c: Context<AppEnv>, tenantId: string): MoveDeps {
  const stub = tenantObject(c, tenantId);
  return {
    mgmt: c.get("services").mgmtDb,
    config: c.get("services").config,
    gate: {
      markMigrating: (id) => stub.markMigrating(id),
      releaseMigrating: (id, generation) => stub.releaseMigrating(id, generation),
    },
  };
}

function actor(c: Context<AppEnv>) {
  return { actor: c.get("adminActor"), ip: clientIp(c) };
}

async function requireMigration(c: Context<AppEnv>, tenantId: string): Promise<TenantMigration> {
  const id = c.req.param("mid") ?? "";
  const migration = await getMigration(c.get("services").mgmtDb, id);
  if (!migration || migration.tenantId !== tenantId) {
    throw new AppError("not_found", `no migration ${JSON.stringify(id)} for this tenant`, {
      code: "migration_not_found",
    });
  }
  return migration;
}

adminMigrations.post("/migrate", async (c) => {
  const tenant = await requireTenant(c);
  const body = await parseJsonBody(c, migrateBody);
  const migration = await startMigration(deps(c, tenant.id), tenant.id, body.target, actor(c));
  await tenantObject(c, tenant.id).driveMigration(migration.id);
  c.header("Location", `/api/tenants/${tenant.id}/migrations/${migration.id}`);
  return c.json(migrationView(migration), 202);
});

adminMigrations.get("/migrations", async (c) => {
  const tenant = await requireTenant(c);
  const migrations = await listMigrations(c.get("services").mgmtDb, tenant.id);
  return c.json({ object: "list", data: migrations.map(migrationView), has_more: false });
});

adminMigrations.get("/migrations/:mid", async (c) => {
  const tenant = await requireTenant(c);
  return c.json(migrationView(await requireMigration(c, tenant.id)));
});

adminMigrations.post("/migrations/:mid/resume", async (c) => {
  const tenant = await requireTenant(c);
  const { id } = await requireMigration(c, tenant.id);
  const migration = await resumeMigration(deps(c, tenant.id), id, actor(c));
  await tenantObject(c, tenant.id).driveMigration(id);
  return c.json(migrationView(migration), 202);
});

adminMigrations.post("/migrations/:mid/cancel", async (c) => {
  const tenant = await requireTenant(c);
  const { id } = await requireMigration(c, tenant.id);
  return c.json(migrationView(await cancelMigration(deps(c, tenant.id), id, actor(c))));
});

adminMigrations.post("/migrations/:mid/finalize", async (c) => {
  const tenant = await requireTenant(c);
  const { id } = await requireMigration(c, tenant.id);
  const { migration, oldDatabaseDeleted } = await finalizeMigration(deps(c, tenant.id), id, actor(c));
  return c.json({ ...migrationView(migration), old_database_deleted: oldDatabaseDeleted });
});

/** The record as the operator sees it: never a token. */
export function migrationView(migration: TenantMigration) {
  return {
    id: migration.id,
    object: "tenant_migration",
    tenant_id: migration.tenantId,
    status: migration.status,
    step: migration.step,
    steps: MIGRATION_STEPS,
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
