import { randomString, sha256Hex } from "../crypto/encoding";
import type { Database } from "../db/client";
import type { Role } from "../teams/roles";
import { type Account, rowToAccount } from "./accounts";

/**
 * Web console sessions, stored server-side. The browser holds only an
 * opaque random id (32 characters, ~190 bits); the table holds its SHA-256,
 * so the table alone signs no one in.
 *
 * Lifetimes: a session ends after `IDLE_MS` without use or `ABSOLUTE_MS`
 * after sign-in, whichever comes first. Twelve hours idle lets a person work
 * through a day without signing in again; seven days absolute bounds what a
 * stolen cookie is worth. Activity pushes the idle deadline forward at most
 * once every `TOUCH_EVERY_MS`, so a page view is not a database write.
 */
const SESSION_IDLE_MS = 12 * 60 * 60_000;
export const SESSION_ABSOLUTE_MS = 7 * 24 * 60 * 60_000;
const TOUCH_EVERY_MS = 5 * 60_000;

export interface ConsoleSession {
  idHash: string;
  userId: string;
  /** The team the console shows (also `account.tenantId` of a signed-in session); switched by the team switcher. */
  tenantId: string;
  /** The person's role in that team. */
  role: Role;
  createdAt: string;
  idleExpiresAt: string;
  expiresAt: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * A new session for `userId`; the returned id goes in the cookie and nowhere
 * else. Always a fresh id: signing in never adopts an id the browser brought
 * (session fixation).
 */
export async function createSession(
  mgmtDb: Database,
  userId: string,
  ip: string | null,
  now = Date.now(),
): Promise<{ id: string; idHash: string }> {
  const id = randomString(32);
  const idHash = await sha256Hex(id);
  // The session opens on the person's home team when they are still in it,
  // else on the team they joined first.
  await mgmtDb.execute(
    {
      sql: `INSERT INTO console_sessions (id_hash, user_id, created_at, idle_expires_at, expires_at, ip, tenant_id)
            VALUES (?, ?, ?, ?, ?, ?, (
              SELECT m.tenant_id FROM memberships m JOIN users u ON u.id = m.user_id JOIN tenants t ON t.id = m.tenant_id
              WHERE m.user_id = ? AND t.status != 'deleted'
              ORDER BY m.tenant_id = u.tenant_id DESC, m.created_at LIMIT 1))`,
      args: [
        idHash,
        userId,
        iso(now),
        iso(Math.min(now + SESSION_IDLE_MS, now + SESSION_ABSOLUTE_MS)),
        iso(now + SESSION_ABSOLUTE_MS),
        ip,
        userId,
      ],
    },
    "write",
  );
  return { id, idHash };
}

/**
 * Show another team in this session: only a team the person belongs to
 * (checked in the statement itself). False when they are not a member.
 */
export async function switchTeam(mgmtDb: Database, idHash: string, userId: string, tenantId: string): Promise<boolean> {
  const result = await mgmtDb.execute(
    {
      sql: `UPDATE console_sessions SET tenant_id = ? WHERE id_hash = ? AND user_id = ?
              AND EXISTS (SELECT 1 FROM memberships m JOIN tenants t ON t.id = m.tenant_id
                          WHERE m.tenant_id = ? AND m.user_id = ? AND t.status != 'deleted')`,
      args: [tenantId, idHash, userId, tenantId, userId],
    },
    "write",
  );
  return result.rowsAffected === 1;
}

/**
 * The live session this cookie value names and its account, or null
 * (unknown, idle too long, past its absolute lifetime, its team deleted,
 * or the person no longer a member of it). The account's `tenantId` is the
 * session's current team, so every console page works on the team the
 * switcher chose and the person still belongs to. A used session's idle deadline moves forward, never past the
 * absolute one. Session and account come in one query: every console page
 * pays this lookup, and a second round trip to the management database was
 * the largest part of a page's cost over an API request's.
 */
export async function findSignedIn(
  mgmtDb: Database,
  id: string,
  now = Date.now(),
): Promise<{ session: ConsoleSession; account: Account } | null> {
  if (!/^[A-Za-z0-9]{32}$/.test(id)) return null;
  const idHash = await sha256Hex(id);
  const result = await mgmtDb.execute(
    {
      sql: `SELECT u.*, s.tenant_id AS session_tenant_id, m.role AS member_role,
                   s.created_at AS session_created_at, s.idle_expires_at, s.expires_at
            FROM console_sessions s JOIN users u ON u.id = s.user_id
            JOIN memberships m ON m.user_id = s.user_id AND m.tenant_id = s.tenant_id
            JOIN tenants t ON t.id = s.tenant_id
            WHERE s.id_hash = ? AND t.status != 'deleted'`,
      args: [idHash],
    },
    "read",
  );
  const row = result.rows[0];
  if (!row) return null;
  const account = { ...rowToAccount(row), tenantId: String(row.session_tenant_id) };
  const session: ConsoleSession = {
    idHash,
    userId: account.id,
    tenantId: account.tenantId,
    role: row.member_role as Role,
    createdAt: String(row.session_created_at),
    idleExpiresAt: String(row.idle_expires_at),
    expiresAt: String(row.expires_at),
  };
  const idleEnds = Date.parse(session.idleExpiresAt);
  if (idleEnds <= now || Date.parse(session.expiresAt) <= now) {
    await mgmtDb.execute({ sql: "DELETE FROM console_sessions WHERE id_hash = ?", args: [idHash] }, "write");
    return null;
  }
  if (sessionNeedsTouch(session, now)) {
    session.idleExpiresAt = iso(Math.min(now + SESSION_IDLE_MS, Date.parse(session.expiresAt)));
    await mgmtDb.execute(
      {
        sql: "UPDATE console_sessions SET idle_expires_at = ? WHERE id_hash = ?",
        args: [session.idleExpiresAt, idHash],
      },
      "write",
    );
  }
  return { session, account };
}

/**
 * Whether this use should push the idle deadline forward: when that moves it
 * by `TOUCH_EVERY_MS` or more (so at most once that often, and never once
 * the absolute lifetime caps it).
 */
export function sessionNeedsTouch(session: ConsoleSession, now = Date.now()): boolean {
  const pushed = Math.min(now + SESSION_IDLE_MS, Date.parse(session.expiresAt));
  return pushed - Date.parse(session.idleExpiresAt) >= TOUCH_EVERY_MS;
}

export async function destroySession(mgmtDb: Database, idHash: string): Promise<void> {
  await mgmtDb.execute({ sql: "DELETE FROM console_sessions WHERE id_hash = ?", args: [idHash] }, "write");
}

/** End every session of this account (password changed or reset, "sign out everywhere"). */
export async function destroyAllSessions(mgmtDb: Database, userId: string): Promise<number> {
  const result = await mgmtDb.execute(
    { sql: "DELETE FROM console_sessions WHERE user_id = ?", args: [userId] },
    "write",
  );
  return result.rowsAffected;
}

/** The statement that ends every session of this account, to batch with the change that requires it. */
export function destroyAllSessionsStatement(userId: string) {
  return { sql: "DELETE FROM console_sessions WHERE user_id = ?", args: [userId] };
}
