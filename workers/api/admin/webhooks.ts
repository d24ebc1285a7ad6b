import { Hono } from "hono";
import type Stripe from "stripe";
import { z } from "zod";
import { writeAudit } from "../../../shared/audit";
import { callStripe } from "../../../shared/billing/stripe-client";
import { EVENT_STATUSES, listStripeEvents } from "../../../shared/billing/stripe-event-store";
import { decodeCursor, listPage } from "../../../shared/cursor";
import { AppError } from "../../../shared/errors";
import { billingContext, logStripeFailures } from "../../billing/context";
import { clientIp } from "../../middleware/ip-rate-limit";
import type { AppEnv } from "../../types";
import { handleEvent } from "../../webhooks/stripe";
import { parseInput } from "../validation";

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
const EVENT_ID = /^evt_[A-Za-z0-9_]{1,255}$/;

adminWebhooks.post("/:eventId/replay", async (c) => {
  const eventId = c.req.param("eventId");
  if (!EVENT_ID.test(eventId)) {
    throw new AppError("invalid_request", "eventId: must be a Stripe event id (evt_…)", { code: "invalid_parameter" });
  }
  const force = parseInput(replayQuery, c.req.query()).force === "true";
  const context = billingContext(c.get("services"));
  // Re-fetched from Stripe rather than trusted from storage: what Stripe says now is what gets applied.
  let event: Stripe.Event;
  try {
    event = await context.stripe.events.retrieve(eventId);
  } catch (error) {
    if ((error as Stripe.errors.StripeError)?.statusCode === 404) {
      throw new AppError("not_found", `Stripe has no event ${eventId}`, { code: "event_not_found" });
    }
    event = await callStripe("fetch the event", () => Promise.reject(error));
  }
  const result = await handleEvent(c, context, event, { force });
  await writeAudit(context.mgmtDb, {
    tenantId: result.tenant?.id ?? null,
    actor: c.get("adminActor"),
    action: "webhooks.replay",
    before: { plan: result.planBefore },
    after: { plan: result.planAfter },
    details: { eventId, type: event.type, force, outcome: result.outcome },
    ip: clientIp(c),
  });
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
