import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { randomString } from "../shared/crypto/encoding";
import { generateEncryptionKey } from "../shared/crypto/token-encryption";

/**
 * Secrets of the local stack, generated on first run and kept in
 * `.muninn/secrets.json` (git-ignored) so a restart can still decrypt the
 * tenant DB tokens it stored and the printed tokens keep working.
 */
export interface LocalSecrets {
  libsqlToken: string;
  encryptionKey: string;
  adminToken: string;
  metricsToken: string;
  /** The fake Stripe's API key and webhook signing secret (tools/fake-stripe). */
  stripeSecretKey: string;
  stripeWebhookSecret: string;
}

export async function loadOrCreateSecrets(file: string): Promise<LocalSecrets> {
  const kept = existsSync(file) ? (JSON.parse(await readFile(file, "utf8")) as Partial<LocalSecrets>) : {};
  const secrets: LocalSecrets = {
    libsqlToken: `local-${randomString(32)}`,
    encryptionKey: generateEncryptionKey(),
    adminToken: `adm_${randomString(32)}`,
    metricsToken: `met_${randomString(32)}`,
    stripeSecretKey: `sk_test_local_${randomString(24)}`,
    stripeWebhookSecret: `whsec_local_${randomString(32)}`,
    // Secrets already generated are kept; ones added since (billing) are created once.
    ...kept,
  };
  if (Object.keys(kept).length === Object.keys(secrets).length) return secrets;
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}

/** The Worker's secrets: wrangler.toml's `[secrets] required`; never put on a command line. */
export const SECRET_NAMES = new Set([
  "MGMT_DB_TOKEN",
  "TURSO_API_TOKEN",
  "DB_TOKEN_ENCRYPTION_KEY",
  "ADMIN_TOKEN",
  "METRICS_TOKEN",
  // Billing: the fake Stripe's key and signing secret locally.
  "STRIPE_SECRET_KEY",
  "STRIPE_WEBHOOK_SECRET",
]);

/** The Worker's configuration for a local stack whose libSQL server listens on `libsqlUrl`. */
export function workerVars(libsqlUrl: string, secrets: LocalSecrets): Record<string, string> {
  return {
    ENVIRONMENT: "development",
    MGMT_DB_URL: `${libsqlUrl}/management/`,
    MGMT_DB_TOKEN: secrets.libsqlToken,
    TURSO_API_URL: libsqlUrl,
    TURSO_API_TOKEN: secrets.libsqlToken,
    TURSO_ORG: "local",
    TENANT_DB_URL_SCHEME: "http",
    DB_TOKEN_ENCRYPTION_KEY: secrets.encryptionKey,
    ADMIN_TOKEN: secrets.adminToken,
    METRICS_TOKEN: secrets.metricsToken,
  };
}

/** Billing of a local stack: the fake Stripe, or a real Stripe test account (then `apiBase` is null). */
export interface LocalStripe {
  apiBase: string | null;
  secretKey: string;
  webhookSecret: string;
  prices: { pro: string; team: string };
  successUrl: string;
  cancelUrl: string;
}

/** The Worker's billing configuration for a local stack. */
export function stripeVars(stripe: LocalStripe): Record<string, string> {
  return {
    STRIPE_SECRET_KEY: stripe.secretKey,
    STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
    ...(stripe.apiBase ? { STRIPE_API_BASE: stripe.apiBase } : {}),
    STRIPE_PRICE_PRO: stripe.prices.pro,
    STRIPE_PRICE_TEAM: stripe.prices.team,
    BILLING_SUCCESS_URL: stripe.successUrl,
    BILLING_CANCEL_URL: stripe.cancelUrl,
    BILLING_PORTAL_RETURN_URL: stripe.successUrl.replace(/\?.*$/, ""),
  };
}
