import type { Config } from "../../config";
import { decryptToken } from "../../crypto/token-encryption";
import { type Database, type DatabaseClient, openDatabase } from "../../db/client";
import { AppError } from "../../errors";
import type { TenantMove } from "./record";

/** The tenant's Durable Object as the move sees it: the switch that pauses and resumes writes. */
export interface TenantGate {
  /**
   * Refuse writes from now on. May answer `leasedUntil` (epoch ms): until
   * then an isolate may still admit a write under a lease granted before
   * (docs/rate-limits.md, "Leases").
   */
  markMigrating(moveId: string): Promise<GateMark | undefined> | GateMark | undefined;
  /** `generation`: the database pointer's new generation, or null when the pointer did not move. */
  releaseMigrating(moveId: string, generation: number | null): Promise<unknown> | unknown;
}

export interface GateMark {
  leasedUntil: number | null;
}

export interface MoveDeps {
  mgmt: Database;
  config: Config;
  gate: TenantGate;
}

/** Where to: a new database in a Turso group, or one the operator made (URL and token). */
export type MoveTarget = { group: string } | { url: string; token: string };

export interface Actor {
  actor: string;
  ip?: string | null;
}

/**
 * A database on either side of a move. Integers are read as `bigint`: the
 * copy writes values back verbatim, and a number would go back as a float.
 */
function open(config: Config, url: string, authToken: string): DatabaseClient {
  return openDatabase({ url, authToken }, config.dbTimeoutMs, { exactIntegers: true });
}

/** The tenant's database when the move began. */
export async function openSource(config: Config, move: TenantMove): Promise<DatabaseClient> {
  const token = await decryptToken(config.dbTokenEncryptionKey, move.source.tokenEncrypted, move.tenantId);
  return open(config, move.source.url, token);
}

/** The database the tenant moves to; it exists once the move is `provisioned`. */
export async function openTarget(config: Config, move: TenantMove): Promise<DatabaseClient> {
  const { url, tokenEncrypted } = move.target;
  if (url === null || tokenEncrypted === null) {
    throw new Error(`move ${move.id} has no target database yet (step ${move.step})`);
  }
  return open(config, url, await decryptToken(config.dbTokenEncryptionKey, tokenEncrypted, move.tenantId));
}

/** Turso shows `libsql://` URLs; the HTTP client wants `https://`. */
export function httpUrl(url: string): string {
  const parsed = new URL(url.replace(/^libsql:\/\//, "https://"));
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new AppError("invalid_request", "target.url must be an https:// or libsql:// database URL", {
      code: "invalid_parameter",
    });
  }
  if (!parsed.pathname.endsWith("/")) parsed.pathname += "/";
  return parsed.toString();
}
