import { DurableObject } from "cloudflare:workers";
import { migrateStorage } from "../storage-migrations";
import { SlidingWindowLimiter, type TakeResult } from "../tenant/rate-limit";
import { ipLimiterStorageMigrations } from "./migrations";

/**
 * One per (endpoint group, client address block: an IPv4 address or an IPv6
 * /64, see `workers/middleware/address-block.ts`): the same exact sliding
 * window as a tenant's, for endpoints that run before anyone is
 * authenticated (signup, login, OAuth token and registration, bad
 * credentials). Millions of addresses each leave a
 * tiny object behind, so an object deletes its storage once its window has
 * emptied.
 */
const WINDOW_KEY = "windowMs";

export class IpLimiterDO extends DurableObject<Env> {
  /** Created (and its storage migrated) on first use: after `deleteAll` the object must hold no table until the address returns. */
  #limiter: SlidingWindowLimiter | null = null;

  get #window(): SlidingWindowLimiter {
    if (!this.#limiter) {
      migrateStorage(this.ctx.storage, ipLimiterStorageMigrations);
      this.#limiter = new SlidingWindowLimiter(this.ctx.storage.sql, "ip_rate_limit_slots");
    }
    return this.#limiter;
  }

  async take(limit: number, windowSeconds: number): Promise<TakeResult> {
    const now = Date.now();
    const windowMs = windowSeconds * 1000;
    const result = this.#window.take(limit, windowMs, now);
    const idleAt = this.#window.idleAt(windowMs, now);
    if (idleAt !== null) {
      await this.ctx.storage.put(WINDOW_KEY, windowMs);
      await this.ctx.storage.setAlarm(idleAt);
    }
    return result;
  }

  override async alarm(): Promise<void> {
    const now = Date.now();
    const windowMs = (await this.ctx.storage.get<number>(WINDOW_KEY)) ?? 0;
    const idleAt = this.#window.idleAt(windowMs, now);
    // Woken before the window emptied (a retried alarm, a clock step): keep counting.
    if (idleAt !== null && idleAt > now) await this.ctx.storage.setAlarm(idleAt);
    else {
      await this.ctx.storage.deleteAll();
      // deleteAll dropped the limiter's table; the next request (if this
      // instance lives that long) starts a fresh window on a new one.
      this.#limiter = null;
    }
  }
}
