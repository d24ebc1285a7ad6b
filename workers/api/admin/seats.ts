import { type Context, Hono } from "hono";
import { z } from "zod";
import { AppError } from "../../../shared/errors";
import { type SeatUsage, seatUsage, setSeatOverride } from "../../../shared/teams/seats";
import { clientIp } from "../../middleware/ip-rate-limit";
import type { AppEnv } from "../../types";
import { parseJsonBody } from "../validation";

/**
 * `/api/tenants/:id/seats`: a team's seats — its plan's, or the operator's
 * override — and how many members and pending invitations hold them.
 * Mounted behind `requireAdmin`.
 */
export const adminSeats = new Hono<AppEnv>();

const putBody = z.object({ seat_override: z.number().int().min(1).max(10_000).nullable() }).strict();

function seatsView(tenantId: string, usage: SeatUsage) {
  return {
    tenant_id: tenantId,
    plan: usage.plan,
    seats: usage.seats,
    source: usage.source,
    seat_override: usage.seatOverride,
    members: usage.members,
    pending_invitations: usage.pendingInvitations,
  };
}

async function usageOrNotFound(c: Context<AppEnv>, id: string): Promise<SeatUsage> {
  const usage = await seatUsage(c.get("services").mgmtDb, c.get("services").config.planLimits, id);
  if (!usage) throw new AppError("not_found", `no tenant ${JSON.stringify(id)}`, { code: "tenant_not_found" });
  return usage;
}

adminSeats.get("/", async (c) => {
  const id = c.req.param("id") ?? "";
  return c.json(seatsView(id, await usageOrNotFound(c, id)));
});

adminSeats.put("/", async (c) => {
  const id = c.req.param("id") ?? "";
  const body = await parseJsonBody(c, putBody);
  const found = await setSeatOverride(c.get("services").mgmtDb, id, body.seat_override, {
    actor: c.get("adminActor"),
    ip: clientIp(c),
  });
  if (!found) throw new AppError("not_found", `no tenant ${JSON.stringify(id)}`, { code: "tenant_not_found" });
  return c.json(seatsView(id, await usageOrNotFound(c, id)));
});
