import type { Context } from "hono";
import { Hono } from "hono";
import type Stripe from "stripe";
import type { BillingContext } from "../../shared/billing/customers";
import { recordEventFailure } from "../../shared/billing/stripe-event-store";
import {
  type EventOutcome,
  isHandled,
  type ProcessedEvent,
  processStripeEvent,
} from "../../shared/billing/webhook-events";
import { verifyWebhook } from "../../shared/billing/webhook-signature";
import { AppError, unavailable } from "../../shared/errors";
import { describeError } from "../../shared/logging";
import { billingContext, pushTenantSettings } from "../billing/context";
import { recorder } from "../ops/telemetry";
import type { AppEnv } from "../types";

/** `POST /webhooks/stripe`: Stripe's deliveries, verified, applied exactly once. See docs/billing.md. */
export const stripeWebhooks = new Hono<AppEnv>();

/**
 * Stripe's events are a few KiB; anything far bigger is not from Stripe.
 * Enforced while the body streams, before verification (`bodyLimits` in app.ts).
 */
export const MAX_WEBHOOK_BYTES = 512 * 1024;

stripeWebhooks.post("/webhooks/stripe", async (c) => {
  const context = billingContext(c.get("services"));
  // The signature covers the exact bytes Stripe sent: verify the raw text, never re-serialised JSON.
  const body = await c.req.text();
  let event: Stripe.Event;
  try {
    event = await verifyWebhook(context.stripe, context.billing, body, c.req.header("stripe-signature") ?? "");
  } catch (error) {
    // Only a bad signature answers 400: Stripe does not retry 4xx, and an unsigned request must not be retried into us.
    c.get("logger").warn("Invalid signature: Stripe webhook refused", describeError(error));
    countWebhook("unknown", "invalid_signature");
    throw new AppError("invalid_request", "Invalid signature", { code: "invalid_signature" });
  }
  const result = await handleEvent(c, context, event, {});
  return c.json({ received: true, event_id: event.id, outcome: result.outcome });
});

/**
 * Process one verified (or re-fetched) event, count it and log it, and put a
 * plan change in force on the tenant's Durable Object. A failure records its
 * error on the event's row and answers 500 so Stripe retries.
 */
export async function handleEvent(
  c: Context<AppEnv>,
  context: BillingContext,
  event: Stripe.Event,
  options: { force?: boolean },
): Promise<ProcessedEvent> {
  const logger = c.get("logger").child({ eventId: event.id, eventType: event.type });
  let result: ProcessedEvent;
  try {
    result = await processStripeEvent(context, event, options);
  } catch (error) {
    logger.error("Webhook processing failed", describeError(error));
    countWebhook(event.type, "failed");
    await recordEventFailure(context.mgmtDb, event, error).catch((recordError: unknown) =>
      logger.error("webhook failure not recorded", describeError(recordError)),
    );
    throw new AppError("internal", `Webhook processing failed for ${event.id}; nothing was applied. Retry.`, {
      code: "webhook_processing_failed",
      cause: error,
    });
  }
  // Pushed on duplicates too: a delivery retried because the push failed puts the change in force.
  if (result.tenant) {
    try {
      await pushTenantSettings(c.env, result.tenant);
    } catch (error) {
      logger.error("Webhook processing failed: change saved but not yet in force", {
        tenant: result.tenant.id,
        ...describeError(error),
      });
      countWebhook(event.type, "failed");
      throw unavailable("the billing change is saved but not yet in force; retry", { cause: error });
    }
  }
  countWebhook(event.type, result.outcome);
  logger.info("stripe webhook processed", {
    outcome: result.outcome,
    tenant: result.tenant?.id,
    planBefore: result.planBefore,
    planAfter: result.planAfter,
    replay: options.force === true || undefined,
  });
  return result;
}

/** `stripe_webhooks_total{event,outcome}`; types Muninn does not handle share one label so Stripe cannot mint series. */
function countWebhook(type: string, outcome: EventOutcome | "failed" | "invalid_signature"): void {
  recorder.inc("stripe_webhooks_total", { event: isHandled(type) ? type : "other", outcome });
}
