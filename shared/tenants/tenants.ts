import { ownerStatements } from "../accounts/accounts";
import { auditStatement } from "../audit";
import type { Config } from "../config";
import { randomString } from "../crypto/encoding";
import { decryptToken, encryptToken } from "../crypto/token-encryption";
import { type Database, type DatabaseCoordinates, openDatabase } from "../db/client";
import { migrate } from "../db/migrate";
import { createLogger, describeError } from "../logging";
import { tenantMigrations } from "../migrations/tenant";
import type { Plan, TenantStatus } from "../plans";
import { type NewApiKey, prepareApiKey } from "./api-keys";
import { insertTenant } from "./tenant-writes";
import { createDatabase, createDatabaseToken, deleteDatabase, PlatformApiError } from "./turso-platform";

export interface Tenant {
  id: string;
  orgName: string;
  ownerEmail: string;
  plan: Plan;
  status: TenantStatus;
  rateLimitOverride: number | null;
  apiKeysCount: number;
  /** While a payment is failing: when the paid plan's grace period ends. */
  graceEndsAt: string | null;
  createdAt: string;
  /** Moves on every change; the tenant's Durable Object uses it to ignore stale pushes. */
  updatedAt: string;
}

export interface TenantDatabase {
  name: string;
  url: string;
  schemaVersion: number;
  coordinates: DatabaseCoordinates;
}

const ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

/** Tenant ids are lowercase so the tenant's database name can be derived from them. */
function newTenantId(): string {
  return `t${randomString(19, ID_ALPHABET)}`;
}

function tenantDatabaseName(tenantId: string): string {
  return `tenant-${tenantId}`;
}

export function rowToTenant(row: Record<string, unknown>): Tenant {
  return {
    id: String(row.id),
    orgName: String(row.org_name),
    ownerEmail: String(row.owner_email),
    plan: row.plan as Plan,
    status: row.status as TenantStatus,
    rateLimitOverride: row.rate_limit_override == null ? null : Number(row.rate_limit_override),
    apiKeysCount: Number(row.api_keys_count),
    graceEndsAt: row.billing_grace_ends_at == null ? null : String(row.billing_grace_ends_at),
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
  };
}

export async function getTenant(mgmtDb: Database, tenantId: string): Promise<Tenant | null> {
  const result = await mgmtDb.execute({ sql: "SELECT * FROM tenants WHERE id = ?", args: [tenantId] }, "read");
  const row = result.rows[0];
  return row ? rowToTenant(row) : null;
}

export async function getTenantDatabase(
  mgmtDb: Database,
  config: Config,
  tenantId: string,
): Promise<TenantDatabase | null> {
  const result = await mgmtDb.execute(
    {
      sql: "SELECT name, url, auth_token_encrypted, schema_version FROM tenant_databases WHERE tenant_id = ?",
      args: [tenantId],
    },
    "read",
  );
  const row = result.rows[0];
  if (!row) return null;
  return {
    name: String(row.name),
    url: String(row.url),
    schemaVersion: Number(row.schema_version),
    coordinates: {
      url: String(row.url),
      authToken: await decryptToken(config.dbTokenEncryptionKey, String(row.auth_token_encrypted), tenantId),
    },
  };
}

/** A tenant's database record points at a database that is not that tenant's. */
class MisroutedDatabaseError extends Error {
  override name = "MisroutedDatabaseError";
}

/**
 * Refuse a database that is not `tenantId`'s. Every tenant database records
 * its owner in `tenant_meta` when it is provisioned; a record pointing at
 * another tenant's database (a swapped or mistyped row in the management DB)
 * must fail loudly rather than serve one tenant another's memories.
 */
export async function assertTenantDatabase(db: Database, tenantId: string): Promise<void> {
  const result = await db.execute({ sql: "SELECT value FROM tenant_meta WHERE key = 'tenant_id'", args: [] }, "read");
  const owner = result.rows[0]?.value;
  if (owner !== tenantId) {
    const whose = owner === undefined || owner === null ? "records no tenant" : `belongs to tenant ${String(owner)}`;
    throw new MisroutedDatabaseError(`the database configured for tenant ${tenantId} ${whose}; refusing to use it`);
  }
}

export interface CreateTenantInput {
  orgName: string;
  ownerEmail: string;
  plan?: Plan;
  /** Name of the first API key; omit to create the tenant without one. */
  firstKeyName?: string;
  /** Scopes of the first key (default: `mcp:tools` only). */
  firstKeyScopes?: string[];
  /** The owner's account, created in the same transaction as the tenant. */
  owner?: { id: string; passwordHash: string | null };
  actor: string;
  ip?: string | null;
}

/** The steps of provisioning, in order; `beforeStep` sees each (tests inject failures there). */
export type ProvisioningStep = "create_database" | "create_token" | "migrate" | "record_tenant_id" | "commit";

export interface ProvisioningHooks {
  beforeStep?(step: ProvisioningStep, tenant: { id: string; databaseName: string }): void | Promise<void>;
}

export interface CreatedTenant {
  tenant: Tenant;
  database: { name: string; url: string; schemaVersion: number };
  apiKey: NewApiKey | null;
}

/**
 * Provision a tenant: its own database (created, migrated), then the tenant,
 * its owner account, its database record, its first key and the audit entry
 * in one management-DB transaction. If any step fails the new database is
 * deleted again (also when its creation itself failed: a timeout can hide a
 * database that was made), so a failure leaves neither a tenant without a
 * database, nor an orphan database, account or key, and the same owner can
 * retry at once.
 */
export async function createTenant(
  mgmtDb: Database,
  config: Config,
  input: CreateTenantInput,
  hooks: ProvisioningHooks = {},
): Promise<CreatedTenant> {
  const id = newTenantId();
  const plan = input.plan ?? "free";
  const dbName = tenantDatabaseName(id);
  const step = async (name: ProvisioningStep) => hooks.beforeStep?.(name, { id, databaseName: dbName });
  try {
    await step("create_database");
    const provisioned = await createDatabase(config.turso, config.dbTimeoutMs, dbName);
    await step("create_token");
    const token = await createDatabaseToken(config.turso, config.dbTimeoutMs, dbName);
    const tenantDb = openDatabase({ url: provisioned.url, authToken: token }, config.dbTimeoutMs);
    let schemaVersion: number;
    try {
      await step("migrate");
      schemaVersion = (await migrate(tenantDb, tenantMigrations)).to;
      await step("record_tenant_id");
      await tenantDb.execute(
        { sql: "INSERT INTO tenant_meta (key, value) VALUES ('tenant_id', ?)", args: [id] },
        "write",
      );
    } finally {
      tenantDb.close();
    }

    const key = input.firstKeyName
      ? await prepareApiKey(id, input.firstKeyName, input.firstKeyScopes, null, input.owner?.id ?? null)
      : null;
    await step("commit");
    await mgmtDb.batch(
      [
        insertTenant({ id, orgName: input.orgName, ownerEmail: input.ownerEmail, plan }),
        ...(input.owner ? ownerStatements({ ...input.owner, email: input.ownerEmail }, id) : []),
        {
          sql: "INSERT INTO tenant_databases (tenant_id, name, url, auth_token_encrypted, schema_version) VALUES (?, ?, ?, ?, ?)",
          args: [
            id,
            dbName,
            provisioned.url,
            await encryptToken(config.dbTokenEncryptionKey, token, id),
            schemaVersion,
          ],
        },
        ...(key ? [key.statement] : []),
        auditStatement({
          tenantId: id,
          actor: input.actor,
          action: "tenant.create",
          after: { orgName: input.orgName, plan, database: dbName },
          ip: input.ip ?? null,
        }),
      ],
      "write",
    );
    const tenant = await getTenant(mgmtDb, id);
    if (!tenant) throw new Error(`tenant ${id} vanished right after creation`);
    return { tenant, database: { name: dbName, url: provisioned.url, schemaVersion }, apiKey: key?.apiKey ?? null };
  } catch (error) {
    await deleteDatabase(config.turso, config.dbTimeoutMs, dbName).catch((cleanup: unknown) => {
      // 404: the database was never made. Anything else leaves an orphan the operator must remove.
      if (cleanup instanceof PlatformApiError && cleanup.status === 404) return;
      createLogger({ component: "provisioning" }).error("tenant database not removed after a failed signup", {
        database: dbName,
        ...describeError(cleanup),
      });
    });
    throw error;
  }
}
