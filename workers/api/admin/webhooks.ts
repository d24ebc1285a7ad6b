import { Hono } from "hono";
import { z } from "zod";
import { writeAudit } from "../../../shared/audit";
import { EVENT_STATUSES, listStripeEvents } from "../../../shared/billing/stripe-event-store";
import { decodeCursor, listPage } from "../../../shared/cursor";
import { logStripeFailures } from "../../billing/context";
import { clientIp } from "../../middleware/ip-rate-limit";
import type { AppEnv } from "../../types";
import { parseInput } from "../validation";
import { replayStripeEvent } from "./operations";

/** `/api/admin/webhooks`: the operator's view of Stripe events, and replay. Behind `requireAdmin`. */
export const adminWebhooks = new Hono<AppEnv>();

adminWebhooks.use("*", logStripeFailures());

const listQuery = z.object({
  status: z.enum(EVENT_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(300).optional(),
});
const eventCursor = z.object({ receivedAt: z.string(), eventId: z.string() });

adminWebhooks.get("/", async (c) => {
  const query = parseInput(listQuery, c.req.query());
  const { mgmtDb } = c.get("services");
  const { events, hasMore } = await listStripeEvents(mgmtDb, {
    status: query.status,
    before: query.cursor ? decodeCursor(eventCursor, query.cursor, "this API") : undefined,
    limit: query.limit,
  });
  await writeAudit(mgmtDb, {
    tenantId: null,
    actor: c.get("adminActor"),
    action: "webhooks.list",
    details: { status: query.status ?? null, count: events.length },
    ip: clientIp(c),
  });
  return c.json(
    listPage(
      events,
      hasMore,
      (event) => ({
        id: event.eventId,
        type: event.type,
        created: event.created,
        status: event.status,
        outcome: event.outcome,
        tenant_id: event.tenantId,
        plan_before: event.planBefore,
        plan_after: event.planAfter,
        attempts: event.attempts,
        error: event.error,
        received_at: event.receivedAt,
        processed_at: event.processedAt,
      }),
      (last) => ({ receivedAt: last.receivedAt, eventId: last.eventId }),
    ),
  );
});

const replayQuery = z.object({ force: z.enum(["true", "false"]).default("false") });

adminWebhooks.post("/:eventId/replay", async (c) => {
  const eventId = c.req.param("eventId");
  const force = parseInput(replayQuery, c.req.query()).force === "true";
  const { event, result } = await replayStripeEvent(c, eventId, force);
  return c.json({
    object: "webhook_replay",
    event_id: eventId,
    type: event.type,
    force,
    outcome: result.outcome,
    tenant_id: result.tenant?.id ?? null,
    plan_before: result.planBefore,
    plan_after: result.planAfter,
  });
});
