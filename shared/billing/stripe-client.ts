import Stripe from "stripe";
import type { BillingConfig } from "../config";
import { unavailable } from "../errors";

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
 * Run a Stripe API call; a failure becomes a 503 the client can retry (the
 * message says nothing of Stripe's internals, the cause keeps them for logs).
 */
export async function callStripe<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw unavailable(`the billing provider could not ${what}; try again shortly`, {
      code: "billing_unavailable",
      cause: error,
    });
  }
}
