import type { Context } from "hono";
import type Stripe from "stripe";
import { type ChangeOutcome, changeTenant, type TenantChange } from "../../../shared/admin/tenant-records";
import { writeAudit } from "../../../shared/audit";
import { reconcileBilling } from "../../../shared/billing/reconcile";
import { callStripe } from "../../../shared/billing/stripe-client";
import { AppError, unavailable } from "../../../shared/errors";
import { cancelMove, finalizeMove, resumeMove } from "../../../shared/lifecycle/move/commands";
import type { MoveDeps } from "../../../shared/lifecycle/move/context";
import { describeError } from "../../../shared/logging";
import type { Tenant } from "../../../shared/tenants/tenants";
import { billingContext, pushAll } from "../../billing/context";
import { clientIp } from "../../middleware/ip-rate-limit";
import type { AppEnv } from "../../types";
import { handleEvent } from "../../webhooks/stripe";
import { settingsOf, tenantNotFound, tenantObject } from "./tenant-lookup";

/**
 * What an operator can do, once: the admin API (JSON) and the admin console
 * (pages) both call these, so a change, a replay or a reconciliation is
 * audited and applied the same way whichever door it came through. Each
 * reads the operator's name from `adminActor`, set by the door's guard.
 */
type AdminContext = Context<AppEnv>;

function by(c: AdminContext) {
  return { actor: c.get("adminActor"), ip: clientIp(c) };
}

/** Change plan / status / override (audited in the same transaction), then put it in force on the tenant's object. */
export async function applyTenantChange(
  c: AdminContext,
  id: string,
  change: TenantChange,
): Promise<Exclude<ChangeOutcome, { outcome: "not_found" }>> {
  const outcome = await changeTenant(c.get("services").mgmtDb, id, change, by(c));
  if (outcome.outcome === "not_found") throw tenantNotFound(id);
  await applyToTenantObject(c, outcome.record);
  if (outcome.outcome === "changed") {
    c.get("logger").info("tenant changed by admin", {
      tenant: id,
      actor: c.get("adminActor"),
      before: pick(outcome.before),
      after: pick(outcome.record),
    });
  }
  return outcome;
}

/**
 * Hand a changed record to the tenant's Durable Object so the next request
 * sees it. The management DB already holds the change; if the object cannot
 * be reached, the operator is told to repeat the (idempotent) request, and
 * any admin read of the tenant re-applies it too.
 */
async function applyToTenantObject(c: AdminContext, record: Tenant): Promise<void> {
  try {
    await tenantObject(c, record.id).updateSettings(settingsOf(record));
  } catch (error) {
    c.get("logger").error("tenant change saved but not applied", { tenant: record.id, ...describeError(error) });
    throw unavailable("the change is saved but not yet in force; repeat the request", { cause: error });
  }
}

function pick(record: Tenant) {
  return { plan: record.plan, status: record.status, rateLimitOverride: record.rateLimitOverride };
}

/** Close a tenant's MCP sessions (only those idle longer than `idleSeconds`, if given). */
export async function closeTenantSessions(c: AdminContext, tenantId: string, idleSeconds?: number): Promise<number> {
  const closed = await tenantObject(c, tenantId).closeSessions({
    reason: "admin",
    idleForMs: idleSeconds === undefined ? undefined : idleSeconds * 1000,
  });
  await writeAudit(c.get("services").mgmtDb, {
    tenantId,
    actor: c.get("adminActor"),
    action: "sessions.close",
    details: { closed, idleSeconds: idleSeconds ?? null },
    ip: clientIp(c),
  });
  c.get("logger").info("mcp sessions closed by admin", { tenant: tenantId, closed, actor: c.get("adminActor") });
  return closed;
}

export const STRIPE_EVENT_ID = /^evt_[A-Za-z0-9_]{1,255}$/;

/** The event as Stripe holds it now, or a 404 naming it. */
export async function fetchStripeEvent(c: AdminContext, eventId: string): Promise<Stripe.Event> {
  if (!STRIPE_EVENT_ID.test(eventId)) {
    throw new AppError("invalid_request", "eventId: must be a Stripe event id (evt_…)", { code: "invalid_parameter" });
  }
  const context = billingContext(c.get("services"));
  try {
    return await context.stripe.events.retrieve(eventId);
  } catch (error) {
    if ((error as Stripe.errors.StripeError)?.statusCode === 404) {
      throw new AppError("not_found", `Stripe has no event ${eventId}`, { code: "event_not_found" });
    }
    return callStripe("fetch the event", () => Promise.reject(error));
  }
}

/**
 * Process an event again. Re-fetched from Stripe rather than trusted from
 * storage: what Stripe says now is what gets applied. `force` re-applies one
 * already processed (the handlers are idempotent on the subscription state).
 */
export async function replayStripeEvent(c: AdminContext, eventId: string, force: boolean) {
  const event = await fetchStripeEvent(c, eventId);
  const context = billingContext(c.get("services"));
  const result = await handleEvent(c, context, event, { force });
  await writeAudit(context.mgmtDb, {
    tenantId: result.tenant?.id ?? null,
    actor: c.get("adminActor"),
    action: "webhooks.replay",
    before: { plan: result.planBefore },
    after: { plan: result.planAfter },
    details: { eventId, type: event.type, force, outcome: result.outcome },
    ip: clientIp(c),
  });
  return { event, result };
}

/** Compare tenants with Stripe; `apply` fixes drift and puts the fixed records in force. */
export async function reconcileWithStripe(c: AdminContext, options: { apply: boolean; tenantId?: string }) {
  const { report, changed } = await reconcileBilling(billingContext(c.get("services")), {
    apply: options.apply,
    actor: c.get("adminActor"),
    tenantId: options.tenantId,
  });
  const unpushed = await pushAll(c.env, c.get("logger"), changed);
  c.get("logger").info("billing reconciliation", {
    apply: options.apply,
    tenant: options.tenantId,
    checked: report.checked,
    drift: report.drift.length,
    errors: report.errors.length,
  });
  return { report, unpushed };
}

/** What the move commands need: the management DB, config, and the tenant's object as the write fence. */
export function moveDeps(c: AdminContext, tenantId: string): MoveDeps {
  const stub = tenantObject(c, tenantId);
  return {
    mgmt: c.get("services").mgmtDb,
    config: c.get("services").config,
    gate: {
      markMigrating: (id) => stub.markMigrating(id),
      releaseMigrating: (id, generation) => stub.releaseMigrating(id, generation),
    },
  };
}

export async function resumeTenantMove(c: AdminContext, tenantId: string, moveId: string) {
  const move = await resumeMove(moveDeps(c, tenantId), moveId, by(c));
  await tenantObject(c, tenantId).driveMigration(moveId);
  return move;
}

export function cancelTenantMove(c: AdminContext, tenantId: string, moveId: string) {
  return cancelMove(moveDeps(c, tenantId), moveId, by(c));
}

export function finalizeTenantMove(c: AdminContext, tenantId: string, moveId: string) {
  return finalizeMove(moveDeps(c, tenantId), moveId, by(c));
}

export function adminActorOf(c: AdminContext) {
  return by(c);
}
