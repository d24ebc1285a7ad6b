import { conditionalAuditStatement } from "../audit";
import type { Database, Statement } from "../db/client";
import { AppError } from "../errors";
import { type AssignableRole, boundScopes, isRole, mayChangeMember, type Role } from "./roles";

/** A person in a team, as teammates see them. */
export interface Member {
  userId: string;
  email: string;
  displayName: string;
  role: Role;
  invitedBy: string | null;
  joinedAt: string;
}

/** Who is changing the team, for the checks and the audit log. */
export interface TeamActor {
  /** The acting member's account; null for a tenant key without one (operator-made tenants). */
  userId: string | null;
  role: Role | null;
  /** The audit actor: `user:<id>`, or `tenant:<key id>` for a key without a member. */
  actor: string;
  /** Through what: `key:<id>`, `oauth:<client id>` or `console`. */
  via: string;
  ip: string | null;
}

const nowIso = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/** A display name: the one the person chose, else the part of their email before the @. */
export function displayNameOf(row: Record<string, unknown>): string {
  const chosen = row.display_name == null ? "" : String(row.display_name).trim();
  return chosen !== "" ? chosen : (String(row.email).split("@")[0] ?? String(row.email));
}

function rowToMember(row: Record<string, unknown>): Member {
  return {
    userId: String(row.user_id),
    email: String(row.email),
    displayName: displayNameOf(row),
    role: row.role as Role,
    invitedBy: row.invited_by == null ? null : String(row.invited_by),
    joinedAt: String(row.created_at),
  };
}

const MEMBER_SELECT = `SELECT m.user_id, m.role, m.invited_by, m.created_at, u.email, u.display_name
  FROM memberships m JOIN users u ON u.id = m.user_id`;

/** The team's members, owner first, then by when they joined. */
export async function listMembers(db: Database, tenantId: string): Promise<Member[]> {
  const result = await db.execute(
    {
      sql: `${MEMBER_SELECT} WHERE m.tenant_id = ?
            ORDER BY m.role = 'owner' DESC, m.created_at, m.user_id`,
      args: [tenantId],
    },
    "read",
  );
  return result.rows.map(rowToMember);
}

export async function getMember(db: Database, tenantId: string, userId: string): Promise<Member | null> {
  const result = await db.execute(
    { sql: `${MEMBER_SELECT} WHERE m.tenant_id = ? AND m.user_id = ?`, args: [tenantId, userId] },
    "read",
  );
  const row = result.rows[0];
  return row ? rowToMember(row) : null;
}

/** This account's role in this team, or null when it is not a member. */
export async function roleIn(db: Database, tenantId: string, userId: string): Promise<Role | null> {
  const result = await db.execute(
    { sql: "SELECT role FROM memberships WHERE tenant_id = ? AND user_id = ?", args: [tenantId, userId] },
    "read",
  );
  const role = result.rows[0]?.role;
  return isRole(role) ? role : null;
}

/** A team an account belongs to, for the console's team switcher and the consent page. */
export interface TeamOfAccount {
  tenantId: string;
  orgName: string;
  role: Role;
}

/** Every live team this account belongs to, by name. */
export async function teamsOf(db: Database, userId: string): Promise<TeamOfAccount[]> {
  const result = await db.execute(
    {
      sql: `SELECT m.tenant_id, m.role, t.org_name FROM memberships m JOIN tenants t ON t.id = m.tenant_id
            WHERE m.user_id = ? AND t.status != 'deleted' ORDER BY t.org_name, m.tenant_id`,
      args: [userId],
    },
    "read",
  );
  return result.rows.map((row) => ({
    tenantId: String(row.tenant_id),
    orgName: String(row.org_name),
    role: row.role as Role,
  }));
}

/**
 * Display names for account ids, as the team sees them (attribution: "by
 * Ada"). Only accounts that are, or whose keys were, in this team resolve —
 * an id from another team's memory says nothing here. A member who left
 * keeps their name; an id that resolves to nobody is absent from the map.
 */
export async function memberDisplayNames(
  db: Database,
  tenantId: string,
  userIds: readonly string[],
): Promise<Map<string, string>> {
  const ids = [...new Set(userIds)].slice(0, 500);
  if (ids.length === 0) return new Map();
  const marks = ids.map(() => "?").join(", ");
  const result = await db.execute(
    {
      sql: `SELECT u.id, u.email, u.display_name FROM users u
            WHERE u.id IN (${marks})
              AND (EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id AND m.tenant_id = ?)
                OR EXISTS (SELECT 1 FROM api_keys k WHERE k.user_id = u.id AND k.tenant_id = ?))`,
      args: [...ids, tenantId, tenantId],
    },
    "read",
  );
  return new Map(result.rows.map((row) => [String(row.id), displayNameOf(row)]));
}

function memberNotFound(userId: string): AppError {
  return new AppError("not_found", `no member ${JSON.stringify(userId)} in this team`, { code: "member_not_found" });
}

function notAllowed(message: string): AppError {
  return new AppError("forbidden", message, { code: "role_forbidden" });
}

/**
 * The acting member's role as the database has it now. A credential's role
 * is cached for up to 60 s per isolate (docs/auth.md), so an owner who just
 * handed the team over would otherwise still act as owner elsewhere; the
 * acts that depend on outranking someone, or on being the owner, read it
 * fresh (one indexed read, on rare requests). A memberless operator key
 * keeps its null role.
 */
export async function actorRoleNow(db: Database, tenantId: string, by: TeamActor): Promise<Role | null> {
  if (!by.userId) return by.role;
  const me = await getMember(db, tenantId, by.userId);
  if (!me) throw notAllowed("you are no longer a member of this team");
  return me.role;
}

function changedMeanwhile(): AppError {
  return new AppError("conflict", "this member was changed by someone else at the same moment; reload and try again", {
    code: "member_changed",
  });
}

/**
 * The statements that bring a member's unrevoked keys within `role`: a
 * key's stored scopes are narrowed (so the keys page shows what it can do),
 * and a key left with nothing is revoked. Authentication bounds scopes by
 * the role as well, so a key created in the same instant is bounded too.
 */
async function keyBoundStatements(db: Database, tenantId: string, userId: string, role: Role): Promise<Statement[]> {
  const keys = await db.execute(
    {
      sql: "SELECT id, scopes FROM api_keys WHERE tenant_id = ? AND user_id = ? AND revoked_at IS NULL",
      args: [tenantId, userId],
    },
    "read",
  );
  const statements: Statement[] = [];
  for (const row of keys.rows) {
    const scopes = JSON.parse(String(row.scopes)) as string[];
    const bounded = boundScopes(scopes, role);
    if (bounded.length === 0) {
      statements.push({
        sql: `UPDATE api_keys SET revoked_at = ${nowIso} WHERE id = ? AND revoked_at IS NULL`,
        args: [String(row.id)],
      });
    } else if (bounded.length !== scopes.length || bounded.some((scope, i) => scope !== scopes[i])) {
      statements.push({
        sql: "UPDATE api_keys SET scopes = ? WHERE id = ?",
        args: [JSON.stringify(bounded), String(row.id)],
      });
    }
  }
  return statements;
}

/**
 * Give a member another role (never `owner`: that is a transfer the new
 * owner accepts). Admins change admins, members and viewers; the owner
 * anyone but themselves. The change is guarded on the role read, so two
 * admins changing the same person at once cannot both win.
 */
export async function changeRole(
  db: Database,
  tenantId: string,
  by: TeamActor,
  userId: string,
  role: AssignableRole,
): Promise<Member> {
  const target = await getMember(db, tenantId, userId);
  if (!target) throw memberNotFound(userId);
  if (target.role === "owner") {
    throw new AppError("conflict", "the owner's role changes only by transferring ownership to another member", {
      code: "owner_role_fixed",
    });
  }
  const actorRole = await actorRoleNow(db, tenantId, by);
  if (!mayChangeMember(actorRole, target.role) || !mayChangeMember(actorRole, role)) {
    throw notAllowed(`a team ${actorRole ?? "key"} cannot change the role of a team ${target.role}`);
  }
  if (target.role === role) return target;
  const results = await db.batch(
    [
      {
        sql: `UPDATE memberships SET role = ?, updated_at = ${nowIso} WHERE tenant_id = ? AND user_id = ? AND role = ?`,
        args: [role, tenantId, userId, target.role],
      },
      conditionalAuditStatement(
        {
          tenantId,
          actor: by.actor,
          action: "member.role_change",
          target: tenantId,
          before: { role: target.role },
          after: { role },
          details: { member: userId, actingMember: by.userId, via: by.via },
          ip: by.ip,
        },
        { sql: "changes() = 1" },
      ),
      ...(await keyBoundStatements(db, tenantId, userId, role)),
    ],
    "write",
  );
  if (results[0]?.rowsAffected !== 1) throw changedMeanwhile();
  return { ...target, role };
}

/** What removing a member undid. */
export interface Removal {
  member: Member;
  /** Keys revoked with the membership (the caller forgets them on its isolate). */
  keyIds: string[];
}

/**
 * Remove a member: the membership, every unrevoked key they made in this
 * team (revoked, not orphaned: a key outlives nobody's access), their
 * console sessions showing this team, and any ownership offered to them,
 * in one transaction with its audit entry. Anyone but the owner may leave;
 * admins remove admins, members and viewers. OAuth grants live outside the
 * database: the caller revokes them (and authentication refuses them
 * anyway, since it checks the membership).
 */
export async function removeMember(db: Database, tenantId: string, by: TeamActor, userId: string): Promise<Removal> {
  const target = await getMember(db, tenantId, userId);
  if (!target) throw memberNotFound(userId);
  const leaving = by.userId === userId;
  if (target.role === "owner" && leaving) {
    throw new AppError(
      "conflict",
      "the owner cannot leave the team: transfer ownership to another member first (they accept it by email), or delete the team",
      { code: "owner_cannot_leave" },
    );
  }
  if (target.role === "owner") {
    throw new AppError("conflict", "the owner cannot be removed; transfer ownership to another member first", {
      code: "owner_cannot_be_removed",
    });
  }
  const actorRole = leaving ? target.role : await actorRoleNow(db, tenantId, by);
  if (!leaving && !mayChangeMember(actorRole, target.role)) {
    throw notAllowed(`a team ${actorRole ?? "key"} cannot remove a team ${target.role}`);
  }
  const keys = await db.execute(
    {
      sql: "SELECT id FROM api_keys WHERE tenant_id = ? AND user_id = ? AND revoked_at IS NULL",
      args: [tenantId, userId],
    },
    "read",
  );
  const results = await db.batch(
    [
      {
        sql: "DELETE FROM memberships WHERE tenant_id = ? AND user_id = ? AND role = ?",
        args: [tenantId, userId, target.role],
      },
      conditionalAuditStatement(
        {
          tenantId,
          actor: by.actor,
          action: leaving ? "member.leave" : "member.remove",
          target: tenantId,
          before: { role: target.role, email: target.email },
          details: { member: userId, actingMember: by.userId, via: by.via },
          ip: by.ip,
        },
        { sql: "changes() = 1" },
      ),
      {
        sql: `UPDATE api_keys SET revoked_at = ${nowIso}
              WHERE tenant_id = ? AND user_id = ? AND revoked_at IS NULL
                AND NOT EXISTS (SELECT 1 FROM memberships WHERE tenant_id = ? AND user_id = ?)`,
        args: [tenantId, userId, tenantId, userId],
      },
      {
        sql: `DELETE FROM console_sessions WHERE user_id = ? AND tenant_id = ?
                AND NOT EXISTS (SELECT 1 FROM memberships WHERE tenant_id = ? AND user_id = ?)`,
        args: [userId, tenantId, tenantId, userId],
      },
      {
        sql: `UPDATE invitations SET revoked_at = ${nowIso}
              WHERE tenant_id = ? AND role = 'owner' AND email = ? AND accepted_at IS NULL AND revoked_at IS NULL`,
        args: [tenantId, target.email],
      },
    ],
    "write",
  );
  if (results[0]?.rowsAffected !== 1) throw memberNotFound(userId);
  return { member: target, keyIds: keys.rows.map((row) => String(row.id)) };
}

/** The statement adding a member, for the batch that accepts an invitation. */
export function addMemberStatement(
  tenantId: string,
  userId: string,
  role: Role,
  invitedBy: string | null,
  when: { sql: string; args?: (string | number)[] } = { sql: "1" },
): Statement {
  return {
    sql: `INSERT INTO memberships (tenant_id, user_id, role, invited_by) SELECT ?, ?, ?, ? WHERE ${when.sql}`,
    args: [tenantId, userId, role, invitedBy, ...(when.args ?? [])],
  };
}

/** Audit of a member joining (through an invitation), right after the insert it records: written only if that added the row. */
export function joinAuditStatement(tenantId: string, userId: string, role: Role, invitationId: string): Statement {
  return conditionalAuditStatement(
    {
      tenantId,
      actor: `user:${userId}`,
      action: "member.join",
      target: tenantId,
      after: { role },
      details: { member: userId, invitationId, actingMember: userId },
    },
    { sql: "changes() = 1" },
  );
}
