import { normalizeEmail } from "../accounts/accounts";
import { conditionalAuditStatement } from "../audit";
import { randomString, sha256Hex } from "../crypto/encoding";
import type { Database } from "../db/client";
import { AppError } from "../errors";
import { effectiveSeats, type Plan, type PlanLimitTable, planWithMoreSeats } from "../plans";
import type { TeamActor } from "./memberships";
import type { Role } from "./roles";

/**
 * Invitations to a team, sent by email. The link carries a random token
 * (43 characters, ~256 bits); only its SHA-256 is stored, so the table
 * cannot be turned into working links. A link is single use and lasts
 * 7 days — long enough for someone back from a week away, short enough
 * that a forgotten message in an old inbox opens nothing. Resending makes
 * a new link and the old one stops working.
 */
const INVITATION_TTL_MS = 7 * 24 * 60 * 60_000;

/**
 * Invitations (sent or resent) per team per rolling hour. Each one is a
 * message from our domain to an address the team chose: the limit keeps a
 * compromised admin credential from turning the team into a spam relay.
 */
const INVITATIONS_PER_HOUR = 20;

export interface Invitation {
  id: string;
  tenantId: string;
  email: string;
  role: Role;
  invitedBy: string;
  createdAt: string;
  sentAt: string;
  expiresAt: string;
}

const nowIso = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";
const PENDING = "accepted_at IS NULL AND revoked_at IS NULL";

function rowToInvitation(row: Record<string, unknown>): Invitation {
  return {
    id: String(row.id),
    tenantId: String(row.tenant_id),
    email: String(row.email),
    role: row.role as Role,
    invitedBy: String(row.invited_by),
    createdAt: String(row.created_at),
    sentAt: String(row.sent_at),
    expiresAt: String(row.expires_at),
  };
}

/** The team's invitations not yet accepted or revoked (expired ones included, marked by `expiresAt`), newest first. */
export async function listInvitations(db: Database, tenantId: string): Promise<Invitation[]> {
  const result = await db.execute(
    {
      sql: `SELECT * FROM invitations WHERE tenant_id = ? AND ${PENDING} ORDER BY sent_at DESC, id DESC`,
      args: [tenantId],
    },
    "read",
  );
  return result.rows.map(rowToInvitation);
}

async function getPending(db: Database, tenantId: string, id: string): Promise<Invitation | null> {
  const result = await db.execute(
    { sql: `SELECT * FROM invitations WHERE id = ? AND tenant_id = ? AND ${PENDING}`, args: [id, tenantId] },
    "read",
  );
  const row = result.rows[0];
  return row ? rowToInvitation(row) : null;
}

async function assertUnderHourlyLimit(db: Database, tenantId: string): Promise<void> {
  const result = await db.execute(
    {
      sql: `SELECT COUNT(*) AS sent, MIN(created_at) AS oldest FROM audit_log
            WHERE tenant_id = ? AND created_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 hour')
              AND action IN ('invitation.create', 'invitation.resend')`,
      args: [tenantId],
    },
    "read",
  );
  const row = result.rows[0];
  if (Number(row?.sent ?? 0) < INVITATIONS_PER_HOUR) return;
  const retryAfter = Math.max(1, Math.ceil((Date.parse(String(row?.oldest)) + 3_600_000 - Date.now()) / 1000));
  throw new AppError(
    "rate_limited",
    `this team sent ${INVITATIONS_PER_HOUR} invitations in the last hour, the most allowed; try again in ${Math.ceil(retryAfter / 60)} minutes`,
    { code: "invitation_rate_limited", headers: { "Retry-After": String(retryAfter) } },
  );
}

/** A new invitation and its link token (for the message only; never stored or logged). */
export interface NewInvitation {
  invitation: Invitation;
  token: string;
}

/**
 * Invite `email` to the team as `role`. Seats count members and pending
 * invitations alike, checked in the same statement that inserts, so two
 * invitations racing for the last seat cannot both take it; beyond the
 * seats the answer is 402 `seat_limit` naming the plan with more. At most
 * one pending invitation per address (a unique index; resend instead).
 */
export async function createInvitation(
  db: Database,
  limits: PlanLimitTable,
  tenantId: string,
  by: TeamActor,
  input: { email: string; role: Role },
): Promise<NewInvitation> {
  const email = normalizeEmail(input.email);
  const tenant = await db.execute(
    {
      sql: `SELECT plan, seat_override,
              EXISTS (SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
                      WHERE m.tenant_id = tenants.id AND u.email = ?) AS already_member
            FROM tenants WHERE id = ?`,
      args: [email, tenantId],
    },
    "read",
  );
  const row = tenant.rows[0];
  if (!row) throw new AppError("not_found", "no such team", { code: "tenant_not_found" });
  if (Number(row.already_member) === 1) {
    throw new AppError("conflict", `${email} is already a member of this team`, { code: "already_member" });
  }
  await assertUnderHourlyLimit(db, tenantId);
  const plan = row.plan as Plan;
  const { seats } = effectiveSeats(limits, plan, row.seat_override == null ? null : Number(row.seat_override));
  const token = randomString(43);
  const id = `inv_${randomString(20)}`;
  const expiresAt = new Date(Date.now() + INVITATION_TTL_MS).toISOString();
  let results: Awaited<ReturnType<Database["batch"]>>;
  try {
    results = await db.batch(
      [
        // An expired invitation no longer holds the address or a seat.
        {
          sql: `UPDATE invitations SET revoked_at = ${nowIso}
                WHERE tenant_id = ? AND ${PENDING} AND expires_at <= ${nowIso}`,
          args: [tenantId],
        },
        {
          sql: `INSERT INTO invitations (id, tenant_id, token_hash, email, role, invited_by, expires_at)
                SELECT ?, ?, ?, ?, ?, ?, ?
                WHERE (SELECT COUNT(*) FROM memberships WHERE tenant_id = ?)
                    + (SELECT COUNT(*) FROM invitations WHERE tenant_id = ? AND ${PENDING} AND role != 'owner') < ?`,
          args: [
            id,
            tenantId,
            await sha256Hex(token),
            email,
            input.role,
            by.userId ?? by.actor,
            expiresAt,
            tenantId,
            tenantId,
            seats,
          ],
        },
        conditionalAuditStatement(
          {
            tenantId,
            actor: by.actor,
            action: "invitation.create",
            target: tenantId,
            after: { email, role: input.role, expiresAt },
            details: { invitationId: id, actingMember: by.userId, via: by.via },
            ip: by.ip,
          },
          { sql: "changes() = 1" },
        ),
      ],
      "write",
    );
  } catch (error) {
    if (/UNIQUE constraint failed: invitations\.tenant_id, invitations\.email/.test(String(error))) {
      throw new AppError("conflict", `${email} already has a pending invitation to this team; resend it instead`, {
        code: "invitation_pending",
      });
    }
    throw error;
  }
  if (results[1]?.rowsAffected !== 1) {
    const more = planWithMoreSeats(limits, seats);
    throw new AppError(
      "payment_required",
      more
        ? `this team uses all ${seats} seats of its plan (members and pending invitations); the ${more} plan has ${limits[more].seats}: upgrade, or remove a member or an invitation`
        : `this team uses all ${seats} seats (members and pending invitations); remove a member or an invitation, or ask us for more seats`,
      { code: "seat_limit" },
    );
  }
  const invitation = await getPending(db, tenantId, id);
  if (!invitation) throw new Error(`invitation ${id} vanished right after creation`);
  return { invitation, token };
}

function invitationNotFound(id: string): AppError {
  return new AppError("not_found", `no pending invitation ${JSON.stringify(id)} in this team`, {
    code: "invitation_not_found",
  });
}

/** Revoke a pending invitation; its link stops working and its seat is free again. */
export async function revokeInvitation(db: Database, tenantId: string, by: TeamActor, id: string): Promise<Invitation> {
  const invitation = await getPending(db, tenantId, id);
  if (!invitation) throw invitationNotFound(id);
  const [updated] = await db.batch(
    [
      {
        sql: `UPDATE invitations SET revoked_at = ${nowIso} WHERE id = ? AND tenant_id = ? AND ${PENDING}`,
        args: [id, tenantId],
      },
      conditionalAuditStatement(
        {
          tenantId,
          actor: by.actor,
          action: "invitation.revoke",
          target: tenantId,
          before: { email: invitation.email, role: invitation.role },
          details: { invitationId: id, actingMember: by.userId, via: by.via },
          ip: by.ip,
        },
        { sql: "changes() = 1" },
      ),
    ],
    "write",
  );
  if (updated?.rowsAffected !== 1) throw invitationNotFound(id);
  return invitation;
}

/** Send a pending invitation again: a new link for another 7 days; the previous link stops working. */
export async function resendInvitation(
  db: Database,
  tenantId: string,
  by: TeamActor,
  id: string,
): Promise<NewInvitation> {
  const invitation = await getPending(db, tenantId, id);
  if (!invitation) throw invitationNotFound(id);
  await assertUnderHourlyLimit(db, tenantId);
  const token = randomString(43);
  const expiresAt = new Date(Date.now() + INVITATION_TTL_MS).toISOString();
  const [updated] = await db.batch(
    [
      {
        sql: `UPDATE invitations SET token_hash = ?, expires_at = ?, sent_at = ${nowIso}
              WHERE id = ? AND tenant_id = ? AND ${PENDING}`,
        args: [await sha256Hex(token), expiresAt, id, tenantId],
      },
      conditionalAuditStatement(
        {
          tenantId,
          actor: by.actor,
          action: "invitation.resend",
          target: tenantId,
          after: { email: invitation.email, expiresAt },
          details: { invitationId: id, actingMember: by.userId, via: by.via },
          ip: by.ip,
        },
        { sql: "changes() = 1" },
      ),
    ],
    "write",
  );
  if (updated?.rowsAffected !== 1) throw invitationNotFound(id);
  return { invitation: { ...invitation, expiresAt }, token };
}

/** What a link opens: the invitation, its team and who sent it — for the page and the checks before joining. */
export interface InvitationByLink extends Invitation {
  tokenHash: string;
  orgName: string;
  inviterName: string;
  acceptedAt: string | null;
  revokedAt: string | null;
}

/** The invitation a link token names, in any state, or null for a token that was never issued (or resent since). */
export async function findInvitationByToken(db: Database, token: string): Promise<InvitationByLink | null> {
  if (!/^[A-Za-z0-9]{43}$/.test(token)) return null;
  const tokenHash = await sha256Hex(token);
  const result = await db.execute(
    {
      sql: `SELECT i.*, t.org_name, u.email AS inviter_email, u.display_name AS inviter_display_name
            FROM invitations i JOIN tenants t ON t.id = i.tenant_id
            LEFT JOIN users u ON u.id = i.invited_by
            WHERE i.token_hash = ? AND t.status != 'deleted'`,
      args: [tokenHash],
    },
    "read",
  );
  const row = result.rows[0];
  if (!row) return null;
  const inviterChosen = row.inviter_display_name == null ? "" : String(row.inviter_display_name).trim();
  const inviterEmail = row.inviter_email == null ? null : String(row.inviter_email);
  return {
    ...rowToInvitation(row),
    tokenHash,
    orgName: String(row.org_name),
    inviterName: inviterChosen || (inviterEmail ? (inviterEmail.split("@")[0] ?? inviterEmail) : "the team"),
    acceptedAt: row.accepted_at == null ? null : String(row.accepted_at),
    revokedAt: row.revoked_at == null ? null : String(row.revoked_at),
  };
}

/** Why a link cannot be used now, as a clear error; nothing when it can. */
export function assertUsable(
  invitation: InvitationByLink | null,
  now = Date.now(),
): asserts invitation is InvitationByLink {
  if (!invitation) {
    throw new AppError("not_found", "this invitation link is not valid: it was mistyped, or a newer one was sent", {
      code: "invitation_not_found",
    });
  }
  if (invitation.acceptedAt) {
    throw new AppError("gone", "this invitation was already used; sign in to reach the team", {
      code: "invitation_used",
    });
  }
  if (invitation.revokedAt) {
    throw new AppError("gone", "this invitation was withdrawn; ask the team for a new one", {
      code: "invitation_revoked",
    });
  }
  if (Date.parse(invitation.expiresAt) <= now) {
    throw new AppError("gone", "this invitation expired (links last 7 days); ask the team to send it again", {
      code: "invitation_expired",
    });
  }
}

/**
 * Offer ownership to a member: an invitation with role `owner`, mailed to
 * them; nothing changes until they accept (`acceptInvitation`). Only the
 * owner offers. It takes no seat (the person is a member already).
 */
export async function offerOwnership(
  db: Database,
  tenantId: string,
  by: TeamActor,
  member: { userId: string; email: string },
): Promise<NewInvitation> {
  const token = randomString(43);
  const id = `inv_${randomString(20)}`;
  const expiresAt = new Date(Date.now() + INVITATION_TTL_MS).toISOString();
  try {
    await db.batch(
      [
        {
          sql: `UPDATE invitations SET revoked_at = ${nowIso}
                WHERE tenant_id = ? AND ${PENDING} AND expires_at <= ${nowIso}`,
          args: [tenantId],
        },
        {
          sql: `INSERT INTO invitations (id, tenant_id, token_hash, email, role, invited_by, expires_at)
                VALUES (?, ?, ?, ?, 'owner', ?, ?)`,
          args: [id, tenantId, await sha256Hex(token), member.email, by.userId ?? by.actor, expiresAt],
        },
        conditionalAuditStatement(
          {
            tenantId,
            actor: by.actor,
            action: "member.ownership_offer",
            target: tenantId,
            after: { email: member.email, expiresAt },
            details: { member: member.userId, actingMember: by.userId, via: by.via, invitationId: id },
            ip: by.ip,
          },
          { sql: "changes() = 1" },
        ),
      ],
      "write",
    );
  } catch (error) {
    if (/UNIQUE constraint failed: invitations\.tenant_id, invitations\.email/.test(String(error))) {
      throw new AppError("conflict", `ownership was already offered to ${member.email}; revoke that offer first`, {
        code: "invitation_pending",
      });
    }
    throw error;
  }
  const invitation = await getPending(db, tenantId, id);
  if (!invitation) throw new Error(`invitation ${id} vanished right after creation`);
  return { invitation, token };
}
