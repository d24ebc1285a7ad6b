import type { Context } from "hono";
import { normalizeEmail } from "../../shared/accounts/accounts";
import { timingSafeEqual } from "../../shared/crypto/encoding";
import { spendIpBudget } from "../middleware/ip-rate-limit";
import type { AppEnv } from "../types";
import { DEVICE_COOKIE, readCookie, writeCookie } from "./cookies";
import { sign } from "./tokens";

/**
 * Limits on password sign-in (the console's `/signin` and OAuth's
 * `/authorize` share them): a per-address budget, and a per-account budget
 * that slows an attacker without locking the owner out.
 *
 * A plain per-account limit lets anyone lock a person out by failing ten
 * times from anywhere. So the account's attempts are counted in two
 * buckets: browsers that have signed in to this account before (they carry
 * a device cookie, an HMAC of the address that only this server can make)
 * and everyone else. An attacker without the owner's browser can exhaust
 * only the second bucket; the owner's known browser keeps its own budget
 * (OWASP's "device cookies" against account lockout). A new browser of the
 * owner's waits at most one window, and the reset link still works.
 */
const ACCOUNT_ATTEMPTS_PER_MINUTE = 10;
const DEVICE_LABEL = "muninn sign-in device v1";
const DEVICE_COOKIE_SECONDS = 180 * 24 * 60 * 60;

async function deviceProof(c: Context<AppEnv>, email: string): Promise<string> {
  return sign(c.get("services").config.dbTokenEncryptionKey, DEVICE_LABEL, normalizeEmail(email));
}

async function knownDevice(c: Context<AppEnv>, email: string): Promise<boolean> {
  const cookie = readCookie(c, DEVICE_COOKIE);
  return !!cookie && (await timingSafeEqual(cookie, await deviceProof(c, email)));
}

/** A refusal to show if this address or this account has tried too often, else null. */
export async function signInRefusal(c: Context<AppEnv>, email: string): Promise<string | null> {
  const { config } = c.get("services");
  const byAddress = await spendIpBudget(c, "signin", config.ipRateLimitPerMinute);
  if (byAddress && !byAddress.allowed) {
    return "Too many sign-in attempts from this address. Wait a minute and try again.";
  }
  const bucket = (await knownDevice(c, email)) ? "known" : "other";
  try {
    const account = await c.env.IP_LIMITER_DO.getByName(`signin-account:${bucket}:${normalizeEmail(email)}`).take(
      ACCOUNT_ATTEMPTS_PER_MINUTE,
      60,
    );
    if (!account.allowed) {
      return `Too many sign-in attempts for this account. Try again in ${account.retryAfterSeconds} seconds.`;
    }
  } catch (error) {
    // Fail open like the per-address limiter: password hashing still bounds guessing.
    c.get("logger").error("sign-in limiter unavailable; attempt allowed", {
      reason: error instanceof Error ? error.message : String(error),
    });
  }
  return null;
}

/** After a successful sign-in: this browser is now a known device of the account. */
export async function rememberDevice(c: Context<AppEnv>, email: string): Promise<void> {
  writeCookie(c, DEVICE_COOKIE, await deviceProof(c, email), DEVICE_COOKIE_SECONDS);
}
