import type Stripe from "stripe";
import type { Database } from "../db/client";
import { readPage } from "../db/page";
import { isoFromSeconds, textOrNull } from "../db/row-values";

/**
 * The `stripe_events` table as a record of what arrived: one row per Stripe
 * event id, with its status, outcome, attempts and last error. Processing
 * (webhook-events.ts) decides what an event changes; this module only keeps
 * and lists the record, which the operator's replay and the admin API read.
 */

export interface EventRow {
  status: string;
  tenantId: string | null;
  attempts: number;
  receivedAt: string;
}

export async function readEventRow(mgmtDb: Database, eventId: string): Promise<EventRow | null> {
  const result = await mgmtDb.execute(
    {
      sql: "SELECT status, tenant_id, attempts, received_at FROM stripe_events WHERE event_id = ?",
      args: [eventId],
    },
    "read",
  );
  const row = result.rows[0];
  if (!row) return null;
  return {
    status: String(row.status),
    tenantId: row.tenant_id == null ? null : String(row.tenant_id),
    attempts: Number(row.attempts),
    receivedAt: String(row.received_at),
  };
}

/**
 * Keep the error of a failed attempt on the event's row, so an operator can
 * list failed events and replay them. Never overwrites a processed row.
 */
export async function recordEventFailure(mgmtDb: Database, event: Stripe.Event, error: unknown): Promise<void> {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  await mgmtDb.execute(
    {
      sql: `INSERT INTO stripe_events (event_id, type, created, status, error, attempts)
          VALUES (?, ?, ?, 'failed', ?, 1)
          ON CONFLICT (event_id) DO UPDATE SET status = 'failed', error = excluded.error, attempts = attempts + 1
          WHERE stripe_events.status = 'failed'`,
      args: [event.id, event.type, event.created, message.slice(0, 2000)],
    },
    "write",
  );
}

export const EVENT_STATUSES = ["received", "processed", "failed", "ignored"] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];

export interface StripeEventRecord {
  eventId: string;
  type: string;
  /** Stripe's creation time of the event (ISO). */
  created: string;
  status: EventStatus;
  outcome: string | null;
  tenantId: string | null;
  planBefore: string | null;
  planAfter: string | null;
  attempts: number;
  error: string | null;
  receivedAt: string;
  processedAt: string | null;
}

/** Events newest first, optionally by status, keyset-paginated on (received_at, event_id). */
export async function listStripeEvents(
  mgmtDb: Database,
  filter: { status?: EventStatus; before?: { receivedAt: string; eventId: string }; limit: number },
): Promise<{ events: StripeEventRecord[]; hasMore: boolean }> {
  const { rows, hasMore } = await readPage(mgmtDb, {
    select: "SELECT * FROM stripe_events",
    conditions: [
      filter.status ? ["status = ?", filter.status] : null,
      filter.before
        ? [
            "(received_at < ? OR (received_at = ? AND event_id < ?))",
            filter.before.receivedAt,
            filter.before.receivedAt,
            filter.before.eventId,
          ]
        : null,
    ],
    orderBy: "received_at DESC, event_id DESC",
    limit: filter.limit,
  });
  const events = rows.map((row) => ({
    eventId: String(row.event_id),
    type: String(row.type),
    created: isoFromSeconds(Number(row.created)),
    status: row.status as EventStatus,
    outcome: textOrNull(row.outcome),
    tenantId: textOrNull(row.tenant_id),
    planBefore: textOrNull(row.plan_before),
    planAfter: textOrNull(row.plan_after),
    attempts: Number(row.attempts),
    error: textOrNull(row.error),
    receivedAt: String(row.received_at),
    processedAt: textOrNull(row.processed_at),
  }));
  return { events, hasMore };
}
