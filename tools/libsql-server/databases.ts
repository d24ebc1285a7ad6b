/**
 * The databases the server hosts: one SQLite file per name under `dataDir`,
 * a small pool of idle connections per database, and the metadata the
 * Platform API needs (ids, groups, minted tokens) in one JSON file.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import Database from "libsql";

export type Connection = Database.Database;

const DB_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

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
    // The files hold every tenant's data: owner only. SQLite gives a
    // database's -wal and -shm the mode of the database file itself.
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    chmodSync(dataDir, 0o700);
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

  /**
   * Take a connection in autocommit mode: a pooled one if available. Creates
   * the database on first use. A read-only one is opened read-only by the
   * engine (`mode=ro`), and pooled apart from the others.
   */
  acquire(name: string, readOnly = false): Connection {
    const pooled = this.pools.get(poolKey(name, readOnly))?.pop();
    if (pooled) return pooled;
    if (!this.exists(name)) this.create(name);
    return this.open(name, readOnly);
  }

  /** Give a connection back. Anything a stream left open is rolled back first, so pooled connections are clean. */
  release(name: string, conn: Connection, readOnly = false): void {
    try {
      if (conn.inTransaction) conn.exec("ROLLBACK");
      // Back to the defaults, so no setting a stream made reaches the next one (sql-gate.ts SETTABLE_PRAGMAS).
      conn.exec("PRAGMA query_only = 0; PRAGMA foreign_keys = OFF");
    } catch {
      conn.close();
      return;
    }
    const key = poolKey(name, readOnly);
    const pool = this.pools.get(key) ?? [];
    this.pools.set(key, pool);
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
    for (const pool of this.pools.values()) for (const conn of pool) conn.close();
    this.pools.clear();
  }

  private closePool(name: string): void {
    for (const readOnly of [false, true]) {
      const key = poolKey(name, readOnly);
      for (const conn of this.pools.get(key) ?? []) conn.close();
      this.pools.delete(key);
    }
  }

  private open(name: string, readOnly = false): Connection {
    const path = this.filePath(name);
    // Created here, not by SQLite, so it never exists with wider permissions.
    if (!existsSync(path)) closeSync(openSync(path, "a", 0o600));
    // timeout 0: lock waits happen asynchronously in hrana.ts. A SQLite busy
    // timeout would block the event loop, and with it the very request that
    // would release the lock.
    if (readOnly) {
      // The database is already in WAL mode (set by its first read-write connection).
      const conn = new Database(`${pathToFileURL(path).href}?mode=ro`, { timeout: 0 });
      conn.exec("PRAGMA busy_timeout = 0");
      return conn;
    }
    const conn = new Database(path, { timeout: 0 });
    conn.exec("PRAGMA journal_mode = WAL");
    conn.exec("PRAGMA synchronous = NORMAL");
    conn.exec("PRAGMA busy_timeout = 0");
    return conn;
  }

  private save(): void {
    const file = join(this.dataDir, METADATA_FILE);
    writeFileSync(`${file}.tmp`, JSON.stringify(this.meta, null, 2), { mode: 0o600 });
    chmodSync(`${file}.tmp`, 0o600); // `mode` applies only to a new file
    renameSync(`${file}.tmp`, file);
  }
}

function poolKey(name: string, readOnly: boolean): string {
  return readOnly ? `${name} read-only` : name;
}

/** Constant-time comparison for the configured server token. */
export function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
