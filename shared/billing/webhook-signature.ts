import type Stripe from "stripe";
import type { BillingConfig } from "../config";
import { webhookCrypto } from "./stripe-client";

/** Why a delivery was refused; the log gets it, the caller only "Invalid signature". */
class WebhookSignatureError extends Error {
  override name = "WebhookSignatureError";
}

/**
 * Verify a delivery's `Stripe-Signature` over the exact bytes received and
 * return the event. The SDK checks the HMAC and refuses a timestamp older
 * than the tolerance, but accepts any timestamp in the future (it only
 * measures age): a signature minted with a future `t` would be replayable
 * until that time, so one further ahead than the tolerance is refused here
 * too, and so is a header with more than one `t` (the SDK takes the last, so
 * a header carrying two could be checked against one and signed with the other).
 */
export async function verifyWebhook(
  stripe: Stripe,
  billing: BillingConfig,
  body: string,
  header: string,
  now = Date.now(),
): Promise<Stripe.Event> {
  const timestamps = header
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.startsWith("t="));
  if (timestamps.length !== 1) throw new WebhookSignatureError("the header must carry exactly one timestamp");
  const signedAt = Number(timestamps[0]?.slice(2));
  if (!Number.isInteger(signedAt)) throw new WebhookSignatureError("the header's timestamp is not a number");
  if (signedAt - Math.floor(now / 1000) > billing.webhookToleranceSeconds) {
    throw new WebhookSignatureError("Timestamp outside the tolerance zone (in the future)");
  }
  return stripe.webhooks.constructEventAsync(
    body,
    header,
    billing.webhookSecret,
    billing.webhookToleranceSeconds,
    webhookCrypto,
    now,
  );
}
