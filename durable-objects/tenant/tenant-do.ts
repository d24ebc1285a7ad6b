import { DurableObject } from "cloudflare:workers";

/**
 * One per tenant (`idFromName(tenantId)`): the single strongly consistent
 * place for what must be exact across isolates and colos — MCP sessions,
 * rate-limit buckets and quota counters. State lives in the object's SQLite
 * storage so it survives eviction and deploys.
 */
export class TenantDO extends DurableObject<Env> {
  /** Storage schema version of this object; bumped with each storage migration. */
  ping(): { ok: true } {
    return { ok: true };
  }
}
