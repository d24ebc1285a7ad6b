import { displayNameProblem, emailTaken, newUserId, normalizeEmail } from "../accounts/accounts";
import { hashPassword, passwordProblem } from "../accounts/passwords";
import { conditionalAuditStatement } from "../audit";
import type { Database, Statement } from "../db/client";
import { AppError } from "../errors";
import { assertUsable, findInvitationByToken, type InvitationByLink } from "./invitations";
import { addMemberStatement, joinAuditStatement } from "./memberships";
import type { Role } from "./roles";

const nowIso = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/** Spend the link: only a pending, unexpired invitation, so of two uses at once exactly one gets `changes() = 1`. */
function spendStatement(invitation: InvitationByLink, userId: string): Statement {
  return {
    sql: `UPDATE invitations SET accepted_at = ${nowIso}, accepted_by = ?
          WHERE token_hash = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ${nowIso}`,
    args: [userId, invitation.tokenHash],
  };
}

function usedMeanwhile(): AppError {
  return new AppError("gone", "this invitation was used or withdrawn a moment ago; ask the team for a new one", {
    code: "invitation_used",
  });
}

/** The team joined through a link. */
export interface Joined {
  tenantId: string;
  orgName: string;
  role: Role;
  /** After an ownership transfer: the owner who became an admin (their credentials' role changed too). */
  previousOwner?: string;
}

/**
 * Accept an invitation as a signed-in account. The link was sent to one
 * address, and only the account with that address may use it: a link
 * forwarded to (or intercepted by) someone else joins nobody. Accepting
 * proves the address, so an unverified account becomes verified. An
 * invitation with role `owner` is an ownership transfer: the owner becomes
 * an admin and the accepting member the owner, in one transaction.
 */
export async function acceptInvitation(
  db: Database,
  token: string,
  account: { id: string; email: string },
): Promise<Joined> {
  const invitation = await findInvitationByToken(db, token);
  assertUsable(invitation);
  if (normalizeEmail(account.email) !== invitation.email) {
    throw new AppError(
      "forbidden",
      `This invitation was sent to ${invitation.email}, and you are signed in as ${account.email}. Sign out, then sign in or sign up as ${invitation.email} to accept it.`,
      { code: "invitation_email_mismatch" },
    );
  }
  const { tenantId, role } = invitation;
  const joined = { tenantId, orgName: invitation.orgName, role };
  if (role === "owner") return transferOwnership(db, invitation, account.id, joined);
  let results: Awaited<ReturnType<Database["batch"]>>;
  try {
    results = await db.batch(
      [
        spendStatement(invitation, account.id),
        addMemberStatement(tenantId, account.id, role, invitation.invitedBy, { sql: "changes() = 1" }),
        joinAuditStatement(tenantId, account.id, role, invitation.id),
        {
          sql: `UPDATE users SET email_verified_at = COALESCE(email_verified_at, ${nowIso}) WHERE id = ? AND email = ?`,
          args: [account.id, invitation.email],
        },
      ],
      "write",
    );
  } catch (error) {
    if (/UNIQUE constraint failed: memberships\./.test(String(error))) {
      throw new AppError("conflict", `you are already a member of ${invitation.orgName}`, { code: "already_member" });
    }
    throw error;
  }
  if (results[1]?.rowsAffected !== 1) throw usedMeanwhile();
  return joined;
}

async function transferOwnership(
  db: Database,
  invitation: InvitationByLink,
  userId: string,
  joined: Joined,
): Promise<Joined> {
  const { tenantId } = invitation;
  const isMember = "EXISTS (SELECT 1 FROM memberships WHERE tenant_id = ? AND user_id = ?)";
  // Each step is guarded on the one before, so the batch either moves the
  // ownership whole or changes nothing but the spent link: the unique
  // "one owner" index would refuse a second owner anyway.
  const results = await db.batch(
    [
      spendStatement(invitation, userId),
      {
        sql: `UPDATE memberships SET role = 'admin', updated_at = ${nowIso}
              WHERE tenant_id = ? AND role = 'owner' AND user_id != ? AND changes() = 1 AND ${isMember}`,
        args: [tenantId, userId, tenantId, userId],
      },
      {
        sql: `UPDATE memberships SET role = 'owner', updated_at = ${nowIso}
              WHERE tenant_id = ? AND user_id = ? AND changes() = 1`,
        args: [tenantId, userId],
      },
      conditionalAuditStatement(
        {
          tenantId,
          actor: `user:${userId}`,
          action: "member.ownership_transfer",
          target: tenantId,
          after: { role: "owner" },
          details: {
            member: userId,
            invitationId: invitation.id,
            previousOwner: invitation.invitedBy,
            actingMember: userId,
          },
        },
        { sql: "changes() = 1" },
      ),
      {
        sql: `UPDATE tenants SET owner_email = (SELECT email FROM users WHERE id = ?), updated_at = ${nowIso}
              WHERE id = ? AND EXISTS (SELECT 1 FROM memberships WHERE tenant_id = ? AND user_id = ? AND role = 'owner')`,
        args: [userId, tenantId, tenantId, userId],
      },
    ],
    "write",
  );
  if (results[0]?.rowsAffected !== 1) throw usedMeanwhile();
  if (results[2]?.rowsAffected !== 1) {
    throw new AppError("conflict", "ownership can pass only to a current member of the team", { code: "not_a_member" });
  }
  return { ...joined, previousOwner: invitation.invitedBy };
}

/**
 * Create an account from an invitation link and join the team in one
 * transaction — no team of their own is made. The link proves the address
 * (it was sent there), so the account starts verified; its home team is
 * the one that invited it.
 */
export async function signUpFromInvitation(
  db: Database,
  token: string,
  input: { password: string; displayName?: string | null },
): Promise<Joined & { userId: string; email: string }> {
  const invitation = await findInvitationByToken(db, token);
  assertUsable(invitation);
  if (invitation.role === "owner") {
    throw new AppError("forbidden", "ownership passes only to a current member; sign in to accept", {
      code: "invitation_needs_member",
    });
  }
  const problem = passwordProblem(input.password, invitation.email);
  if (problem) throw new AppError("invalid_request", problem, { code: "weak_password" });
  const nameProblem = displayNameProblem(input.displayName?.trim() ?? "");
  if (nameProblem) throw new AppError("invalid_request", nameProblem, { code: "invalid_name" });
  const emailConflict = () =>
    new AppError("conflict", `${invitation.email} already has an account: sign in to accept the invitation`, {
      code: "email_taken",
    });
  if (await emailTaken(db, invitation.email)) throw emailConflict();
  const userId = newUserId();
  const passwordHash = await hashPassword(input.password);
  const displayName = input.displayName?.trim() || null;
  let results: Awaited<ReturnType<Database["batch"]>>;
  try {
    results = await db.batch(
      [
        spendStatement(invitation, userId),
        {
          sql: `INSERT INTO users (id, tenant_id, email, password_hash, display_name, email_verified_at)
                SELECT ?, ?, ?, ?, ?, ${nowIso} WHERE changes() = 1`,
          args: [userId, invitation.tenantId, invitation.email, passwordHash, displayName],
        },
        addMemberStatement(invitation.tenantId, userId, invitation.role, invitation.invitedBy, {
          sql: "changes() = 1",
        }),
        joinAuditStatement(invitation.tenantId, userId, invitation.role, invitation.id),
      ],
      "write",
    );
  } catch (error) {
    if (/UNIQUE constraint failed: users\.email/.test(String(error))) throw emailConflict();
    throw error;
  }
  if (results[2]?.rowsAffected !== 1) {
    // The link was spent meanwhile; the account row was not written either (guarded on the same change).
    throw usedMeanwhile();
  }
  return {
    tenantId: invitation.tenantId,
    orgName: invitation.orgName,
    role: invitation.role,
    userId,
    email: invitation.email,
  };
}
