import { auditStatement } from "../audit";
import type { Database } from "../db/client";
import { effectiveSeats, type LimitSource, type Plan, type PlanLimitTable } from "../plans";

/** A team's seats and what holds them. */
export interface SeatUsage {
  plan: Plan;
  seats: number;
  source: LimitSource;
  seatOverride: number | null;
  members: number;
  pendingInvitations: number;
}

/** The seats of a live tenant and how many are taken, or null when there is no such tenant. */
export async function seatUsage(db: Database, limits: PlanLimitTable, tenantId: string): Promise<SeatUsage | null> {
  const result = await db.execute(
    {
      sql: `SELECT plan, seat_override,
              (SELECT COUNT(*) FROM memberships WHERE tenant_id = tenants.id) AS members,
              (SELECT COUNT(*) FROM invitations WHERE tenant_id = tenants.id AND accepted_at IS NULL
                 AND revoked_at IS NULL AND role != 'owner'
                 AND expires_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) AS pending
            FROM tenants WHERE id = ? AND status != 'deleted'`,
      args: [tenantId],
    },
    "read",
  );
  const row = result.rows[0];
  if (!row) return null;
  const plan = row.plan as Plan;
  const seatOverride = row.seat_override == null ? null : Number(row.seat_override);
  return {
    plan,
    ...effectiveSeats(limits, plan, seatOverride),
    seatOverride,
    members: Number(row.members),
    pendingInvitations: Number(row.pending),
  };
}

/**
 * Set (or clear, with null) the operator's seat override, audited with
 * before and after. Lowering it below the members a team has removes
 * nobody: the team simply cannot invite until it is under again.
 */
export async function setSeatOverride(
  db: Database,
  tenantId: string,
  seatOverride: number | null,
  by: { actor: string; ip: string | null },
): Promise<boolean> {
  const before = await db.execute(
    { sql: "SELECT seat_override FROM tenants WHERE id = ? AND status != 'deleted'", args: [tenantId] },
    "read",
  );
  const row = before.rows[0];
  if (!row) return false;
  const previous = row.seat_override == null ? null : Number(row.seat_override);
  if (previous === seatOverride) return true;
  await db.batch(
    [
      {
        sql: `UPDATE tenants SET seat_override = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
              WHERE id = ? AND status != 'deleted'`,
        args: [seatOverride, tenantId],
      },
      auditStatement({
        tenantId,
        actor: by.actor,
        action: "tenant.seats",
        before: { seatOverride: previous },
        after: { seatOverride },
        ip: by.ip,
      }),
    ],
    "write",
  );
  return true;
}
