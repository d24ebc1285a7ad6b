/**
 * The databases the server hosts: one SQLite file per name under `dataDir`,
 * a small pool of idle connections per database, and the metadata the
 * Platform API needs (ids, groups, minted tokens) in one JSON file.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "libsql";

export type Connection = Database.Database;

export const DB_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function isValidDbName(name: string): boolean {
  return DB_NAME_PATTERN.test(name);
}

export interface DatabaseInfo {
  name: string;
  dbId: string;
  group: string;
  createdAt: string;
}

interface TokenRecord {
  db: string;
  /** Epoch ms, or null for tokens that never expire. */
  expiresAt: number | null;
  readOnly: boolean;
}

interface Metadata {
  databases: Record<string, Omit<DatabaseInfo, "name">>;
  /** Keyed by SHA-256 of the token, so the file never holds a usable secret. */
  tokens: Record<string, TokenRecord>;
}

/** Idle connections kept per database; more than this are closed on release. */
const POOL_SIZE = 8;
const METADATA_FILE = "platform-metadata.json";

function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export class DatabaseRegistry {
  private readonly pools = new Map<string, Connection[]>();
  private meta: Metadata;

  constructor(readonly dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    const file = join(dataDir, METADATA_FILE);
    this.meta = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Metadata) : { databases: {}, tokens: {} };
  }

  filePath(name: string): string {
    return join(this.dataDir, `${name}.db`);
  }

  exists(name: string): boolean {
    return existsSync(this.filePath(name));
  }

  /** Info for an existing database; databases created on first use get their id here. */
  get(name: string): DatabaseInfo | undefined {
    if (!this.exists(name)) return undefined;
    let entry = this.meta.databases[name];
    if (!entry) {
      entry = { dbId: randomUUID(), group: "default", createdAt: new Date().toISOString() };
      this.meta.databases[name] = entry;
      this.save();
    }
    return { name, ...entry };
  }

  list(): DatabaseInfo[] {
    return readdirSync(this.dataDir)
      .filter((file) => file.endsWith(".db"))
      .map((file) => file.slice(0, -3))
      .filter(isValidDbName)
      .sort()
      .map((name) => this.get(name))
      .filter((info): info is DatabaseInfo => info !== undefined);
  }

  /** Create the database file (WAL mode) and its metadata. Returns false if it already exists. */
  create(name: string, group = "default"): boolean {
    if (this.exists(name)) return false;
    this.release(name, this.open(name));
    this.meta.databases[name] = { dbId: randomUUID(), group, createdAt: new Date().toISOString() };
    this.save();
    return true;
  }

  /** Take a connection in autocommit mode: a pooled one if available. Creates the database on first use. */
  acquire(name: string): Connection {
    const pooled = this.pools.get(name)?.pop();
    if (pooled) return pooled;
    if (!this.exists(name)) {
      this.create(name);
      return this.acquire(name);
    }
    return this.open(name);
  }

  /** Give a connection back. Anything a stream left open is rolled back first, so pooled connections are clean. */
  release(name: string, conn: Connection): void {
    try {
      if (conn.inTransaction) conn.exec("ROLLBACK");
      conn.exec("PRAGMA query_only = 0");
    } catch {
      conn.close();
      return;
    }
    const pool = this.pools.get(name) ?? [];
    this.pools.set(name, pool);
    if (pool.length < POOL_SIZE && this.exists(name)) pool.push(conn);
    else conn.close();
  }

  /** Close pooled connections, remove the files, metadata and tokens. Streams must be closed by the caller first. */
  delete(name: string): boolean {
    const existed = this.exists(name);
    this.closePool(name);
    for (const suffix of [".db", ".db-wal", ".db-shm"]) {
      rmSync(join(this.dataDir, `${name}${suffix}`), { force: true });
    }
    delete this.meta.databases[name];
    for (const [hash, token] of Object.entries(this.meta.tokens)) {
      if (token.db === name) delete this.meta.tokens[hash];
    }
    this.save();
    return existed;
  }

  mintToken(name: string, expiresAt: number | null, readOnly: boolean): string {
    const token = `libsql-local.${randomBytes(32).toString("base64url")}`;
    this.meta.tokens[hashToken(token)] = { db: name, expiresAt, readOnly };
    this.save();
    return token;
  }

  /** Access granted by a minted token for `name`, or null if the token is unknown, expired or for another database. */
  checkToken(name: string, token: string): { readOnly: boolean } | null {
    const record = this.meta.tokens[hashToken(token)];
    if (!record || record.db !== name) return null;
    if (record.expiresAt !== null && record.expiresAt <= Date.now()) return null;
    return { readOnly: record.readOnly };
  }

  closeAll(): void {
    for (const name of this.pools.keys()) this.closePool(name);
  }

  private closePool(name: string): void {
    for (const conn of this.pools.get(name) ?? []) conn.close();
    this.pools.delete(name);
  }

  private open(name: string): Connection {
    // timeout 0: lock waits happen asynchronously in hrana.ts. A SQLite busy
    // timeout would block the event loop, and with it the very request that
    // would release the lock.
    const conn = new Database(this.filePath(name), { timeout: 0 });
    conn.exec("PRAGMA journal_mode = WAL");
    conn.exec("PRAGMA synchronous = NORMAL");
    conn.exec("PRAGMA busy_timeout = 0");
    return conn;
  }

  private save(): void {
    const file = join(this.dataDir, METADATA_FILE);
    writeFileSync(`${file}.tmp`, JSON.stringify(this.meta, null, 2));
    renameSync(`${file}.tmp`, file);
  }
}

/** Constant-time comparison for the configured server token. */
export function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
