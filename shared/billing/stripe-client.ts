import Stripe from "stripe";
import type { BillingConfig } from "../config";
import { AppError, unavailable } from "../errors";

/**
 * A Stripe client for this deployment. `STRIPE_API_BASE` points it at a
 * local fake (development, tests) through the SDK's own host/port/protocol
 * options, so every call takes the path it takes in production. The fetch
 * HTTP client works in Workers and in Node alike.
 */
export function stripeClient(billing: BillingConfig): Stripe {
  const base = billing.apiBase ? new URL(billing.apiBase) : null;
  const protocol = base?.protocol === "http:" ? "http" : "https";
  return new Stripe(billing.stripeSecretKey, {
    httpClient: Stripe.createFetchHttpClient(),
    maxNetworkRetries: 1,
    timeout: 10_000,
    ...(base ? { host: base.hostname, port: Number(base.port || (protocol === "http" ? 80 : 443)), protocol } : {}),
  });
}

/** The crypto for webhook signatures: SubtleCrypto, present in Workers and Node. */
export const webhookCrypto = Stripe.createSubtleCryptoProvider();

/**
 * Run a Stripe API call and turn its failure into an error the client can act
 * on, without Stripe's internals in the message (the cause keeps them for the
 * log): Stripe unreachable, rate-limited or failing is a 503 to retry; Stripe
 * refusing the request (a customer deleted in Stripe, a wrong key or price)
 * is a 500 that retrying will not fix.
 */
export async function callStripe<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    const transient =
      error instanceof Stripe.errors.StripeConnectionError ||
      error instanceof Stripe.errors.StripeAPIError ||
      error instanceof Stripe.errors.StripeRateLimitError ||
      !(error instanceof Stripe.errors.StripeError) ||
      (status !== undefined && status >= 500);
    if (transient) {
      throw unavailable(`the billing provider could not ${what}; try again shortly`, {
        code: "billing_unavailable",
        retryAfterSeconds: 5,
        cause: error,
      });
    }
    throw new AppError("internal", `the billing provider refused to ${what}; support has the details`, {
      code: "billing_error",
      cause: error,
    });
  }
}

/** Error codes of a failed Stripe call; the route layer logs their cause. */
export const STRIPE_FAILURE_CODES = new Set(["billing_unavailable", "billing_error"]);
