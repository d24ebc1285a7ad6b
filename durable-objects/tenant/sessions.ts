/**
 * Legacy-era (2025) MCP sessions of one tenant, as rows in its Durable
 * Object's SQLite storage. A session is a record, not an object in memory, so
 * it survives eviction, restarts and deploys, and any isolate can serve it.
 *
 * Expiry: a session ends when idle for `idleMs` or `maxLifetimeMs` after it
 * was created, whichever comes first. The owning object keeps one alarm at
 * the earliest expiry (`nextExpiry`) and calls `reap` when it fires; a
 * request that arrives for an expired session before the alarm finds it
 * expired all the same (`admit` checks the clock, not the alarm).
 *
 * `last_seen` writes are throttled to one per `touchEveryMs` per session: a
 * busy session would otherwise write on every request. The price is that
 * idleness (and LRU order for the cap) is measured to within that interval,
 * which is why the throttle is a small fraction of the idle timeout.
 */
import type { AdmittedSession, CloseReason, SessionClosure, SessionList, SessionRecord, SessionSeen } from "./contract";

export interface SessionLimits {
  idleMs: number;
  maxLifetimeMs: number;
}

/** Visible ASCII, 256 bits of randomness: unguessable, and valid in a header as the spec requires. */
function newSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

interface SessionRow extends Record<string, SqlStorageValue> {
  id: string;
  created_at: number;
  last_seen_at: number;
  protocol_version: string;
  client_info: string | null;
  log_level: string | null;
}

function toRecord(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    protocolVersion: row.protocol_version,
    clientInfo: row.client_info ? (JSON.parse(row.client_info) as SessionRecord["clientInfo"]) : null,
    logLevel: row.log_level,
  };
}

const CLOSE_REASONS: CloseReason[] = ["delete", "idle", "lifetime", "cap", "admin", "rejected"];

export class SessionStore {
  readonly #sql: SqlStorage;
  readonly #limits: SessionLimits;
  readonly #touchEveryMs: number;

  constructor(sql: SqlStorage, limits: SessionLimits) {
    this.#sql = sql;
    this.#limits = limits;
    // A tenth of the idle timeout, at most a minute: idleness is judged to within that.
    this.#touchEveryMs = Math.min(60_000, Math.floor(limits.idleMs / 10));
  }

  /**
   * Record a new session. When the tenant is at its plan's cap, the least
   * recently seen sessions are closed first (reason `cap`) to make room.
   */
  create(
    input: { protocolVersion: string; clientInfo: SessionRecord["clientInfo"]; cap: number },
    now: number,
  ): { session: SessionRecord; closed: SessionClosure[] } {
    const closed = this.reap(now);
    const excess = this.count() - input.cap + 1;
    if (excess > 0) {
      const victims = this.#sql
        .exec<{ id: string }>("SELECT id FROM mcp_sessions ORDER BY last_seen_at, created_at LIMIT ?", excess)
        .toArray();
      for (const { id } of victims) {
        this.#delete(id, "cap");
        closed.push({ id, reason: "cap" });
      }
    }
    const session: SessionRecord = {
      id: newSessionId(),
      createdAt: now,
      lastSeenAt: now,
      protocolVersion: input.protocolVersion,
      clientInfo: input.clientInfo,
      logLevel: null,
    };
    this.#sql.exec(
      "INSERT INTO mcp_sessions (id, created_at, last_seen_at, protocol_version, client_info) VALUES (?, ?, ?, ?, ?)",
      session.id,
      now,
      now,
      session.protocolVersion,
      session.clientInfo ? JSON.stringify(session.clientInfo) : null,
    );
    this.#count("created");
    return { session, closed };
  }

  /**
   * The live session with this id, touched as seen; or why it is not live:
   * unknown (never existed, deleted, reaped) or expired just now.
   */
  use(
    id: string,
    now: number,
    seenAt: number | null = now,
  ): { session: SessionRecord } | { session: null; closed: SessionClosure | null } {
    const row = this.#sql.exec<SessionRow>("SELECT * FROM mcp_sessions WHERE id = ?", id).toArray()[0];
    if (!row) return { session: null, closed: null };
    // A use an isolate reports late (with its lease) counts from when it happened, never from the future.
    const seen = Math.max(row.last_seen_at, Math.min(seenAt ?? 0, now));
    const reason = this.#expiredReason({ ...row, last_seen_at: seen }, now);
    if (reason) {
      this.#delete(id, reason);
      return { session: null, closed: { id, reason } };
    }
    if (seen - row.last_seen_at >= this.#touchEveryMs) {
      this.#sql.exec("UPDATE mcp_sessions SET last_seen_at = ? WHERE id = ?", seen, id);
      row.last_seen_at = seen;
    }
    return { session: toRecord(row) };
  }

  /**
   * The sessions an isolate reports it served from a lease (`seenAt`), and
   * possibly one it asks about: each touched as seen when it was, or expired
   * now. Answers those alive and those that ended here.
   */
  useAll(seen: SessionSeen[], now: number): { alive: SessionRecord[]; closed: SessionClosure[] } {
    const alive: SessionRecord[] = [];
    const closed: SessionClosure[] = [];
    for (const { id, seenAt } of seen) {
      const used = this.use(id, now, seenAt);
      if (used.session) alive.push(used.session);
      else if (used.closed) closed.push(used.closed);
    }
    return { alive, closed };
  }

  setLogLevel(id: string, level: string): boolean {
    return this.#sql.exec("UPDATE mcp_sessions SET log_level = ? WHERE id = ?", level, id).rowsWritten > 0;
  }

  /** End one session; false when there was none by that id. */
  close(id: string, reason: CloseReason): boolean {
    return this.#delete(id, reason);
  }

  /** End every session, or only those idle for at least `idleForMs`; returns the ids closed. */
  closeAll(reason: CloseReason, now: number, idleForMs?: number): string[] {
    const rows =
      idleForMs === undefined
        ? this.#sql.exec<{ id: string }>("SELECT id FROM mcp_sessions").toArray()
        : this.#sql
            .exec<{ id: string }>("SELECT id FROM mcp_sessions WHERE last_seen_at <= ?", now - idleForMs)
            .toArray();
    for (const { id } of rows) this.#delete(id, reason);
    return rows.map((row) => row.id);
  }

  /** Close every session past its idle timeout or lifetime. */
  reap(now: number): SessionClosure[] {
    const idleBefore = now - this.#limits.idleMs;
    const bornBefore = now - this.#limits.maxLifetimeMs;
    const rows = this.#sql
      .exec<SessionRow>("SELECT * FROM mcp_sessions WHERE last_seen_at <= ? OR created_at <= ?", idleBefore, bornBefore)
      .toArray();
    const closed: SessionClosure[] = [];
    for (const row of rows) {
      const reason = this.#expiredReason(row, now) ?? "idle";
      this.#delete(row.id, reason);
      closed.push({ id: row.id, reason });
    }
    return closed;
  }

  /** When the next session expires, or null when there are none: where the alarm goes. */
  nextExpiry(): number | null {
    const row = this.#sql
      .exec<{ seen: number | null; born: number | null }>(
        "SELECT MIN(last_seen_at) AS seen, MIN(created_at) AS born FROM mcp_sessions",
      )
      .one();
    if (row.seen === null || row.born === null) return null;
    return Math.min(row.seen + this.#limits.idleMs, row.born + this.#limits.maxLifetimeMs);
  }

  count(): number {
    return this.#sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM mcp_sessions").one().n;
  }

  /** Live sessions, most recently seen first, with lifetime counts of creations and closes by reason. */
  list(): SessionList {
    const counts = new Map(
      this.#sql
        .exec<{ event: string; count: number }>("SELECT event, count FROM mcp_session_events")
        .toArray()
        .map((row) => [row.event, row.count]),
    );
    const closed = Object.fromEntries(CLOSE_REASONS.map((reason) => [reason, counts.get(`closed:${reason}`) ?? 0]));
    return {
      sessions: this.#sql
        .exec<SessionRow>("SELECT * FROM mcp_sessions ORDER BY last_seen_at DESC")
        .toArray()
        .map(toRecord),
      created: counts.get("created") ?? 0,
      closed: closed as Record<CloseReason, number>,
    };
  }

  #expiredReason(row: SessionRow, now: number): "idle" | "lifetime" | null {
    if (now - row.created_at >= this.#limits.maxLifetimeMs) return "lifetime";
    if (now - row.last_seen_at >= this.#limits.idleMs) return "idle";
    return null;
  }

  #delete(id: string, reason: CloseReason): boolean {
    const deleted = this.#sql.exec("DELETE FROM mcp_sessions WHERE id = ?", id).rowsWritten > 0;
    if (deleted) this.#count(`closed:${reason}`);
    return deleted;
  }

  #count(event: string): void {
    this.#sql.exec(
      "INSERT INTO mcp_session_events (event, count) VALUES (?, 1) ON CONFLICT (event) DO UPDATE SET count = count + 1",
      event,
    );
  }
}

/** A session as an admission or a lease answers it: what the protocol layer needs, and whether this call created it. */
export function admittedSession(session: SessionRecord, created: boolean): AdmittedSession {
  const { id, protocolVersion, clientInfo, logLevel } = session;
  return { id, protocolVersion, clientInfo, logLevel, created };
}
