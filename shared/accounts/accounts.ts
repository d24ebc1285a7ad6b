import { randomString } from "../crypto/encoding";
import type { Database, Statement } from "../db/client";

/** A person who signs in: today, the owner of one tenant. */
export interface Account {
  /** Opaque (`usr_…`): OAuth tokens and grants embed it, so it reveals nothing about the person. */
  id: string;
  tenantId: string;
  email: string;
  /** Null for an owner the operator created without a password: such an account cannot sign in. */
  passwordHash: string | null;
  /** When the owner proved they read mail at `email`; null until then (see docs/auth.md). */
  emailVerifiedAt: string | null;
  createdAt: string;
}

/** The longest name a person may choose to be shown by (team page, "by Ada" on memories). */
export const DISPLAY_NAME_MAX = 100;

/** Why `name` (trimmed) cannot be a display name, or null if it can; empty means "none chosen". */
export function displayNameProblem(name: string): string | null {
  if (name.length > DISPLAY_NAME_MAX) return `Keep your name to ${DISPLAY_NAME_MAX} characters.`;
  // Control characters (newlines, bidi overrides) would let a name rewrite the lines it is shown in.
  if (/[\p{Cc}\u202A-\u202E\u2066-\u2069]/u.test(name)) return "Your name cannot contain control characters.";
  return null;
}

/** The name the person chose, or "" when they have not (pages then show their email's local part). */
export async function chosenDisplayName(mgmtDb: Database, userId: string): Promise<string> {
  const result = await mgmtDb.execute({ sql: "SELECT display_name FROM users WHERE id = ?", args: [userId] }, "read");
  const value = result.rows[0]?.display_name;
  return value == null ? "" : String(value);
}

/** Set (or, with null, clear) the name a person is shown by. */
export function displayNameStatement(userId: string, name: string | null): Statement {
  return {
    sql: "UPDATE users SET display_name = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
    args: [name, userId],
  };
}

/** Emails are compared case-insensitively: stored trimmed and lowercased. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function newUserId(): string {
  return `usr_${randomString(24)}`;
}

export function rowToAccount(row: Record<string, unknown>): Account {
  return {
    id: String(row.id),
    tenantId: String(row.tenant_id),
    email: String(row.email),
    passwordHash: row.password_hash == null ? null : String(row.password_hash),
    emailVerifiedAt: row.email_verified_at == null ? null : String(row.email_verified_at),
    createdAt: String(row.created_at),
  };
}

/** The inserts for a tenant's owner — the account and its membership as owner — to batch with the tenant's creation. */
export function ownerStatements(
  owner: { id: string; email: string; passwordHash: string | null },
  tenantId: string,
): Statement[] {
  return [
    {
      sql: "INSERT INTO users (id, tenant_id, email, password_hash) VALUES (?, ?, ?, ?)",
      args: [owner.id, tenantId, normalizeEmail(owner.email), owner.passwordHash],
    },
    { sql: "INSERT INTO memberships (tenant_id, user_id, role) VALUES (?, ?, 'owner')", args: [tenantId, owner.id] },
  ];
}

/** The account with this email (any case), or null. Only accounts of tenants that are not deleted. */
export async function findAccountByEmail(mgmtDb: Database, email: string): Promise<Account | null> {
  const result = await mgmtDb.execute(
    {
      sql: `SELECT u.* FROM users u JOIN tenants t ON t.id = u.tenant_id
            WHERE u.email = ? AND t.status != 'deleted'`,
      args: [normalizeEmail(email)],
    },
    "read",
  );
  const row = result.rows[0];
  return row ? rowToAccount(row) : null;
}

export async function getAccount(mgmtDb: Database, userId: string): Promise<Account | null> {
  const result = await mgmtDb.execute({ sql: "SELECT * FROM users WHERE id = ?", args: [userId] }, "read");
  const row = result.rows[0];
  return row ? rowToAccount(row) : null;
}

/** The account by id, if its tenant is not deleted (a deleted tenant's sessions sign nobody in). */
export async function findActiveAccount(mgmtDb: Database, userId: string): Promise<Account | null> {
  const result = await mgmtDb.execute(
    {
      sql: `SELECT u.* FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.id = ? AND t.status != 'deleted'`,
      args: [userId],
    },
    "read",
  );
  const row = result.rows[0];
  return row ? rowToAccount(row) : null;
}

/** The tenant's owner account, or null (tenants created before accounts existed have none). */
export async function ownerOf(mgmtDb: Database, tenantId: string): Promise<Account | null> {
  const result = await mgmtDb.execute(
    {
      sql: `SELECT u.* FROM memberships m JOIN users u ON u.id = m.user_id
            WHERE m.tenant_id = ? AND m.role = 'owner' LIMIT 1`,
      args: [tenantId],
    },
    "read",
  );
  const row = result.rows[0];
  return row ? rowToAccount(row) : null;
}

/** Whether an email is already taken (any case), whatever the state of its tenant. */
export async function emailTaken(mgmtDb: Database, email: string): Promise<boolean> {
  const result = await mgmtDb.execute(
    { sql: "SELECT 1 FROM users WHERE email = ? LIMIT 1", args: [normalizeEmail(email)] },
    "read",
  );
  return result.rows.length > 0;
}

/** The statement that sets a new password hash, to batch with what must change with it. */
export function passwordHashStatement(userId: string, passwordHash: string): Statement {
  return {
    sql: "UPDATE users SET password_hash = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
    args: [passwordHash, userId],
  };
}

/** The statement that moves an account to a new, already verified address (the link proved it). */
export function changeEmailStatement(userId: string, email: string, now = Date.now()): Statement {
  return {
    sql: `UPDATE users SET email = ?, email_verified_at = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
          WHERE id = ?`,
    args: [normalizeEmail(email), new Date(now).toISOString(), userId],
  };
}

export async function updatePasswordHash(mgmtDb: Database, userId: string, passwordHash: string): Promise<void> {
  await mgmtDb.execute(
    {
      sql: "UPDATE users SET password_hash = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
      args: [passwordHash, userId],
    },
    "write",
  );
}
