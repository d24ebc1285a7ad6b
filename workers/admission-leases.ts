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
  heldFrom,
  mergeSeen,
  migratingRefusal,
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
  /** A lease granted ahead, in the background, while `held` was in use: taken up when `held` runs out or ends. */
  next: Held | null;
  /** The lease a renewal ahead was started for: at most one per lease. */
  aheadFor: Held | null;
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
      if (remembered) {
        // A request answered from a remembered rate-limit refusal is reported with the isolate's next call.
        if (remembered.reason !== "suspended") entry.refused.rateLimited += 1;
        return { admitted: false, ...remembered };
      }
      const held = this.#usable(entry, tenant, now);
      if (held && held.requestsLeft > 0 && (!sessionId || held.sessions.has(sessionId))) {
        if (request.write && held.lease.database.migration) return migratingRefusal(held);
        if (!toolCall || held.toolCallsLeft > 0) {
          const admitted = admitFrom(held, now, sessionId);
          this.#renewAhead(grantor, tenant, entry, held, now, defer);
          return admitted;
        }
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
      if (result.granted === "late") continue;
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
    const entry = this.#tenants.get(tenantId);
    for (const sessions of [entry?.held?.sessions, entry?.next?.sessions]) {
      if (sessionId === null) sessions?.clear();
      else sessions?.delete(sessionId);
    }
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
      if (result.granted === "late") continue;
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
        next: null,
        aheadFor: null,
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
    // Not counted here: a charge reads it too, for a request already admitted (only `admit` refuses from it).
    const retryAfterSeconds = Math.max(1, refusal.retryAfterSeconds - Math.floor((now - remembered.at) / 1000));
    return { ...refusal, retryAfterSeconds };
  }

  #usable(entry: TenantLeases, tenant: Tenant, now: number): Held | null {
    this.#takeUpNext(entry, now);
    const held = entry.held;
    return held && now < held.until && held.record === recordOf(tenant) ? held : null;
  }

  /**
   * Move to the lease granted ahead once the one held has run out of
   * requests or ended. What the old one used is reported with the next call,
   * or at its end by its own report (`#reportAt`), well before the object
   * would reconcile it as used in full.
   */
  #takeUpNext(entry: TenantLeases, now: number): void {
    const { held, next } = entry;
    if (!next || now >= next.until) return;
    if (held && now < held.until && held.requestsLeft > 0) return;
    if (held) this.#ended(entry, held);
    entry.held = next;
    entry.next = null;
  }

  /** `held` admits nothing more: what it used is to be reported. */
  #ended(entry: TenantLeases, held: Held): void {
    entry.unsettled.push(settlementOf(held));
    entry.touches = mergeSeen(entry.touches, seenOf(held, false));
  }

  /**
   * Renew ahead (docs/rate-limits.md, "Leases"): when the lease in use is
   * three-quarters spent or into its last quarter, ask for the next one in
   * the background (`waitUntil`), so the requests that come when it runs out
   * find a lease ready rather than waiting for a round trip. Once per lease,
   * and only when no call is under way.
   */
  #renewAhead(grantor: LeaseGrantor, tenant: Tenant, entry: TenantLeases, held: Held, now: number, defer: Defer) {
    if (entry.next || entry.aheadFor === held || entry.callingSince !== null) return;
    const mostlyUsed = held.requestsLeft * 4 <= held.lease.requests;
    const ending = now >= held.until - held.lease.lifetimeMs / 4;
    if (!mostlyUsed && !ending) return;
    entry.aheadFor = held;
    defer(() => this.#fetchAhead(grantor, tenant, entry, held));
  }

  /**
   * The call of a renewal ahead: reports what is pending (not `held`, still
   * in use), asks about `held`'s sessions so the next lease serves them too,
   * and keeps the lease granted as `next`, reporting it at its end if nobody
   * took it up. A refusal changes nothing: `held` goes on, and when it runs
   * out the next request asks and is refused then.
   */
  async #fetchAhead(grantor: LeaseGrantor, tenant: Tenant, entry: TenantLeases, held: Held): Promise<void> {
    if (entry.callingSince !== null || entry.held !== held) return;
    const settle = entry.unsettled;
    const refused = entry.refused;
    const sessions = mergeSeen(entry.touches, seenOf(held, true));
    entry.unsettled = [];
    entry.refused = { rateLimited: 0, quotaExceeded: 0 };
    entry.touches = [];
    const toolCalls = held.lease.toolCalls > 0 || held.quotaRefusal !== null;
    const asked = Date.now();
    entry.callingSince = asked;
    let result: LeaseResult;
    try {
      result = await grantor.lease({ tenant, settle, refused, sessions, requests: true, toolCalls, ahead: true });
    } catch {
      this.#restore(entry, settle, refused, sessions);
      return;
    } finally {
      entry.callingSince = null;
    }
    if (!result.granted) return;
    const next = heldFrom(result.lease, asked, tenant, toolCalls);
    // Things moved on meanwhile (the lease held was renewed or returned): the new one goes back unused at its end.
    if (entry.held === held && entry.next === null) entry.next = next;
    else this.#ended(entry, next);
    await this.#reportAt(grantor, entry, next.until, next);
  }

  /** Put back what a failed call was to report: settling twice is harmless, so it goes with the next call. */
  #restore(entry: TenantLeases, settle: LeaseSettlement[], refused: TenantLeases["refused"], seen: SessionSeen[]) {
    entry.unsettled.push(...settle);
    entry.refused.rateLimited += refused.rateLimited;
    entry.refused.quotaExceeded += refused.quotaExceeded;
    entry.touches = mergeSeen(
      entry.touches,
      seen.filter((session) => session.seenAt !== null),
    );
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
  ): Promise<{ granted: true; used: T } | { granted: "late" } | Extract<LeaseResult, { granted: false }>> {
    // A lease granted ahead and not taken up goes back with this call (its units unused).
    if (entry.next) this.#ended(entry, entry.next);
    const settle = [...entry.unsettled];
    if (entry.held) settle.push(settlementOf(entry.held));
    const refused = entry.refused;
    // Every session the lease held is asked about, so the next lease serves it too without a call.
    const sessions = mergeSeen(entry.touches, entry.held ? seenOf(entry.held, true) : []);
    entry.held = null;
    entry.next = null;
    entry.unsettled = [];
    entry.refused = { rateLimited: 0, quotaExceeded: 0 };
    entry.touches = [];
    const asked = Date.now();
    entry.callingSince = asked;
    let result: LeaseResult;
    try {
      result = await grantor.lease({ tenant, settle, refused, sessions, ...want });
    } catch (error) {
      this.#restore(entry, settle, refused, sessions);
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
    const held = heldFrom(lease, asked, tenant, want.toolCalls);
    entry.held = held;
    entry.refusal = null;
    // A lease whose answer took longer than its lifetime (a slow object, a loaded machine) admits nothing:
    // the object counts its units only until a window after its expiry. The request asks again.
    const late = Date.now() >= held.until;
    // This request's unit is taken before the report at the lease's end is set up, which runs at once
    // when that end has passed: the report must include it.
    const used = late ? null : { value: use(held) };
    defer(() => this.#reportAt(grantor, entry, held.until, held));
    return used ? { granted: true, used: used.value } : { granted: "late" };
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
    // A call under way may report it (a renewal does; a renewal ahead does not): wait for it, then see.
    while (this.#busy(entry, Date.now())) await sleep(POLL_MS);
    await this.#report(grantor, entry, held);
  }

  /** Report `held` (if still the lease in use) and whatever else this isolate has not told the object. */
  async #report(grantor: LeaseGrantor, entry: TenantLeases, held: Held | null): Promise<void> {
    if (held && entry.held === held) {
      entry.held = null;
      this.#ended(entry, held);
      // The lease granted ahead takes over (or, ended too, is reported with this one).
      const next = entry.next;
      entry.next = null;
      if (next && Date.now() < next.until) entry.held = next;
      else if (next) this.#ended(entry, next);
    } else if (held && entry.next === held) {
      entry.next = null;
      this.#ended(entry, held);
    } else if (held && !entry.unsettled.some((settlement) => settlement.id === held.lease.id)) {
      // Taken over and already reported by a call.
      return;
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
      this.#restore(entry, settle, refused, sessions);
      return;
    }
    this.#forgetIfIdle(entry);
  }

  /** An isolate serves many tenants over its life: keep an entry only while it holds something. */
  #forgetIfIdle(entry: TenantLeases): void {
    const idle =
      entry.held === null &&
      entry.next === null &&
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
