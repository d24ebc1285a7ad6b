import {
  type AdmitInput,
  type AdmitRefusal,
  type AdmitResult,
  type ChargeResult,
  LEASE_LIFETIME_MS,
  type LeaseInput,
  type LeaseResult,
  type LeaseReturn,
  type LeaseSettlement,
  type SessionSeen,
} from "../durable-objects/tenant/contract";
import {
  admitFrom,
  chargeFrom,
  type Held,
  mergeSeen,
  migratingRefusal,
  quotaRefusalOf,
  recordOf,
  refuseToolCall,
  seenOf,
  settlementOf,
} from "./lease-held";

/**
 * Admission without a round trip (docs/rate-limits.md, "Leases"): an isolate
 * holds, per tenant, a small budget of requests and tool calls leased from
 * the tenant's Durable Object, and admits from it locally until it runs out
 * or its lifetime ends. The object never leases more than the limit minus
 * what it has admitted and leased, so the service never admits more than the
 * limit; what an isolate leased and did not use goes back when it renews or
 * returns the lease.
 */

/** The calls the lease cache makes to a tenant's object: its stub, or (in tests and the bench) a wrapper. */
export interface LeaseGrantor {
  lease(input: LeaseInput): Promise<LeaseResult>;
  returnLeases(input: LeaseReturn): Promise<void>;
}

/** What admission needs to know of a request to admit it from a lease. */
export interface LeasedRequest {
  /** An MCP `tools/call`: needs a tool-call unit too (or is refused while the quota is spent). */
  toolCall?: boolean;
  /** Writes the tenant's database: refused while the lease says the database is being moved. */
  write?: boolean;
  /** `Mcp-Session-Id` of a legacy-era request: served only while the lease holds the session as alive. */
  sessionId?: string | null;
}

type Tenant = AdmitInput["tenant"];
type RememberedRefusal = Extract<AdmitRefusal, { reason: "rate_limited" | "suspended" }>;

interface TenantLeases {
  tenantId: string;
  held: Held | null;
  /** A refusal answered locally until `until`, so a throttled tenant costs no call per refused request. */
  refusal: { at: number; until: number; refusal: RememberedRefusal; record: string | null } | null;
  /** Leases ended whose settlement did not reach the object: sent with the next call. */
  unsettled: LeaseSettlement[];
  refused: { rateLimited: number; quotaExceeded: number };
  /** Uses of sessions whose lease ended and whose report did not reach the object: sent with the next call. */
  touches: SessionSeen[];
  /** When the call under way for this tenant started; null when none is. */
  callingSince: number | null;
}

/**
 * Requests of one tenant that find no budget wait for the one call under way
 * by polling, not by awaiting its promise: in Workers a promise belongs to
 * the request that created it, and another request awaiting it fails if the
 * first one ends first (shared/crypto/token-encryption.ts says the same).
 */
const POLL_MS = 2;
/** A call older than this is presumed lost (its request was cancelled); a waiter then asks itself. */
const CALL_STALE_MS = 5000;

const sleep = (ms: number) => new Promise((done) => setTimeout(done, Math.max(0, ms)));

export class AdmissionLeases {
  readonly #tenants = new Map<string, TenantLeases>();

  /**
   * Admit one request from this isolate's lease of the tenant's budget,
   * asking the object (settling the lease held, granting a new one) only
   * when the lease is spent, expired or granted under another credential
   * record, or (a legacy session's request) when the lease does not hold
   * the session. `defer` keeps the lease's return at expiry alive past the
   * response (`waitUntil`). A failed call throws: the caller fails closed.
   */
  async admit(grantor: LeaseGrantor, tenant: Tenant, request: LeasedRequest, defer: Defer): Promise<AdmitResult> {
    const entry = this.#entry(tenant.id);
    const toolCall = request.toolCall === true;
    const sessionId = request.sessionId ?? null;
    for (;;) {
      const now = Date.now();
      const remembered = this.#remembered(entry, tenant, now);
      if (remembered) return { admitted: false, ...remembered };
      const held = this.#usable(entry, tenant, now);
      if (held && held.requestsLeft > 0 && (!sessionId || held.sessions.has(sessionId))) {
        if (request.write && held.lease.database.migration) return migratingRefusal(held);
        if (!toolCall || held.toolCallsLeft > 0) return admitFrom(held, now, sessionId);
        if (held.quotaRefusal) {
          entry.refused.quotaExceeded += 1;
          return refuseToolCall(held);
        }
      }
      if (this.#busy(entry, now)) {
        await sleep(POLL_MS);
        continue;
      }
      const session = sessionId && !held?.sessions.has(sessionId) ? sessionId : null;
      const want = { requests: true, toolCalls: toolCall, session };
      const result = await this.#renew(grantor, tenant, entry, want, defer, (fresh) => {
        if (request.write && fresh.lease.database.migration) return migratingRefusal(fresh);
        // The object counted this tools/call's refusal already; only the request unit is spent here.
        return toolCall && fresh.quotaRefusal ? refuseToolCall(fresh) : admitFrom(fresh, Date.now(), sessionId);
      });
      return result.granted ? result.used : { admitted: false, ...result.refusal };
    }
  }

  /**
   * End the lease this isolate holds for the tenant now and report it (with
   * anything else unreported), so the object's counts include every request
   * and tool call this isolate admitted: `/api/usage` reads them right
   * after. Nothing to do when nothing is held or a call is under way (that
   * call reports it all). A failed report is kept for the next call.
   */
  async settleNow(grantor: LeaseGrantor, tenantId: string): Promise<void> {
    const entry = this.#tenants.get(tenantId);
    if (!entry || entry.callingSince !== null) return;
    await this.#report(grantor, entry, entry.held);
  }

  /**
   * Stop serving legacy sessions this isolate just closed (`DELETE /mcp`), all
   * of the tenant's when `sessionId` is null: the isolate that closed a
   * session answers 404 for it at once; others within one lease lifetime.
   */
  forgetSessions(tenantId: string, sessionId: string | null): void {
    const sessions = this.#tenants.get(tenantId)?.held?.sessions;
    if (!sessions) return;
    if (sessionId === null) sessions.clear();
    else sessions.delete(sessionId);
  }

  /** Charge one tool call that is about to run, from the lease, asking the object when the lease has none. */
  async charge(grantor: LeaseGrantor, tenant: Tenant, defer: Defer): Promise<ChargeResult> {
    const entry = this.#entry(tenant.id);
    for (;;) {
      const now = Date.now();
      const remembered = this.#remembered(entry, tenant, now);
      if (remembered?.reason === "suspended") return { charged: false, reason: "suspended" };
      const held = this.#usable(entry, tenant, now);
      if (held && held.toolCallsLeft > 0) return chargeFrom(held);
      if (held?.quotaRefusal) {
        entry.refused.quotaExceeded += 1;
        return { charged: false, ...held.quotaRefusal };
      }
      if (this.#busy(entry, now)) {
        await sleep(POLL_MS);
        continue;
      }
      const want = { requests: false, toolCalls: true };
      const result = await this.#renew(grantor, tenant, entry, want, defer, chargeFrom);
      if (result.granted) return result.used;
      const { refusal } = result;
      if (refusal.reason === "quota_exceeded") return { charged: false, ...refusal };
      return { charged: false, reason: "suspended" };
    }
  }

  #entry(tenantId: string): TenantLeases {
    let entry = this.#tenants.get(tenantId);
    if (!entry) {
      entry = {
        tenantId,
        held: null,
        refusal: null,
        unsettled: [],
        refused: { rateLimited: 0, quotaExceeded: 0 },
        touches: [],
        callingSince: null,
      };
      this.#tenants.set(tenantId, entry);
    }
    return entry;
  }

  #remembered(entry: TenantLeases, tenant: Tenant, now: number): RememberedRefusal | null {
    const remembered = entry.refusal;
    if (!remembered || now >= remembered.until || remembered.record !== recordOf(tenant)) return null;
    const { refusal } = remembered;
    if (refusal.reason === "suspended") return refusal;
    entry.refused.rateLimited += 1;
    const retryAfterSeconds = Math.max(1, refusal.retryAfterSeconds - Math.floor((now - remembered.at) / 1000));
    return { ...refusal, retryAfterSeconds };
  }

  #usable(entry: TenantLeases, tenant: Tenant, now: number): Held | null {
    const held = entry.held;
    return held && now < held.until && held.record === recordOf(tenant) ? held : null;
  }

  #busy(entry: TenantLeases, now: number): boolean {
    return entry.callingSince !== null && now - entry.callingSince < CALL_STALE_MS;
  }

  /**
   * One call to the object: settle the lease held (and any whose settlement
   * was lost), report refusals answered locally and the sessions served,
   * check the session a request names if the lease does not hold it, and
   * take a new lease, of
   * which `use` takes this request's unit in the same synchronous step that
   * stores it (other requests may take the rest, and renew, once it is stored).
   */
  async #renew<T>(
    grantor: LeaseGrantor,
    tenant: Tenant,
    entry: TenantLeases,
    want: { requests: boolean; toolCalls: boolean; session?: string | null },
    defer: Defer,
    use: (held: Held) => T,
  ): Promise<{ granted: true; used: T } | Extract<LeaseResult, { granted: false }>> {
    const settle = [...entry.unsettled];
    if (entry.held) settle.push(settlementOf(entry.held));
    const refused = entry.refused;
    // Every session the lease held is asked about, so the next lease serves it too without a call.
    const sessions = mergeSeen(entry.touches, entry.held ? seenOf(entry.held, true) : []);
    entry.held = null;
    entry.unsettled = [];
    entry.refused = { rateLimited: 0, quotaExceeded: 0 };
    entry.touches = [];
    const asked = Date.now();
    entry.callingSince = asked;
    let result: LeaseResult;
    try {
      result = await grantor.lease({ tenant, settle, refused, sessions, ...want });
    } catch (error) {
      // Settling twice is harmless (the object ignores a lease it no longer holds), so keep them for the next call.
      entry.unsettled.push(...settle);
      entry.refused.rateLimited += refused.rateLimited;
      entry.refused.quotaExceeded += refused.quotaExceeded;
      entry.touches = mergeSeen(
        entry.touches,
        sessions.filter((seen) => seen.seenAt !== null),
      );
      throw error;
    } finally {
      entry.callingSince = null;
    }
    if (!result.granted) {
      const { refusal } = result;
      if (refusal.reason === "rate_limited" || refusal.reason === "suspended") {
        const ms = refusal.reason === "rate_limited" ? refusal.retryAfterSeconds * 1000 : Number.POSITIVE_INFINITY;
        // Remembered for at most one lease lifetime, like a lease: a raised limit or a reactivation reaches this isolate as fast.
        const until = asked + Math.min(ms, LEASE_LIFETIME_MS);
        entry.refusal = { at: asked, until, refusal, record: recordOf(tenant) };
        // The refusals answered from it are reported when it ends, unless a call reports them first.
        defer(() => this.#reportAt(grantor, entry, until, null));
      }
      return result;
    }
    const { lease } = result;
    const held: Held = {
      lease,
      until: asked + lease.lifetimeMs,
      requestsLeft: lease.requests,
      toolCallsLeft: lease.toolCalls,
      usedRequests: 0,
      usedToolCalls: 0,
      quotaRefusal: want.toolCalls && lease.toolCalls === 0 ? quotaRefusalOf(lease) : null,
      record: recordOf(tenant),
      sessions: new Map(lease.sessions.map((session) => [session.id, { session, seenAt: null }])),
    };
    entry.held = held;
    entry.refusal = null;
    defer(() => this.#reportAt(grantor, entry, held.until, held));
    return { granted: true, used: use(held) };
  }

  /**
   * At `until`, report what this isolate has not yet told the object: the
   * lease `held` if nobody renewed it (what it did not use goes back, what it
   * did is counted now rather than at the object's reconciliation), leases
   * whose settlement was lost, refusals answered locally, and the sessions
   * served. Kept alive past the response by `waitUntil`.
   */
  async #reportAt(grantor: LeaseGrantor, entry: TenantLeases, until: number, held: Held | null): Promise<void> {
    // By the clock, not by the timer alone: a timer may fire early, and tests move the clock by hand.
    while (Date.now() < until) await sleep(until - Date.now());
    // A call under way reports everything pending itself.
    if (entry.callingSince !== null) return;
    await this.#report(grantor, entry, held);
  }

  /** Report `held` (if still the lease in use) and whatever else this isolate has not told the object. */
  async #report(grantor: LeaseGrantor, entry: TenantLeases, held: Held | null): Promise<void> {
    if (held) {
      if (entry.held !== held) return;
      entry.held = null;
      entry.unsettled.push(settlementOf(held));
      entry.touches = mergeSeen(entry.touches, seenOf(held, false));
    }
    const settle = entry.unsettled;
    const refused = entry.refused;
    const sessions = entry.touches;
    if (settle.length === 0 && refused.rateLimited === 0 && refused.quotaExceeded === 0 && sessions.length === 0) {
      this.#forgetIfIdle(entry);
      return;
    }
    entry.unsettled = [];
    entry.refused = { rateLimited: 0, quotaExceeded: 0 };
    entry.touches = [];
    try {
      await grantor.returnLeases({ settle, refused, sessions });
    } catch {
      // Not lost: reported with this isolate's next call for the tenant, or reconciled by the object at expiry.
      entry.unsettled.push(...settle);
      entry.refused.rateLimited += refused.rateLimited;
      entry.refused.quotaExceeded += refused.quotaExceeded;
      entry.touches = mergeSeen(entry.touches, sessions);
      return;
    }
    this.#forgetIfIdle(entry);
  }

  /** An isolate serves many tenants over its life: keep an entry only while it holds something. */
  #forgetIfIdle(entry: TenantLeases): void {
    const idle =
      entry.held === null &&
      entry.callingSince === null &&
      entry.unsettled.length === 0 &&
      entry.touches.length === 0 &&
      entry.refused.rateLimited + entry.refused.quotaExceeded === 0 &&
      (entry.refusal === null || Date.now() >= entry.refusal.until);
    if (idle && this.#tenants.get(entry.tenantId) === entry) this.#tenants.delete(entry.tenantId);
  }
}

/** Runs `work` past the response (`waitUntil`); a dead isolate runs nothing more, which tests simulate by not calling it. */
export type Defer = (work: () => Promise<unknown>) => void;
