/** @jsxImportSource hono/jsx */
import type { ReconcileReport } from "../../../shared/billing/reconcile";
import { EVENT_STATUSES, type StripeEventRecord } from "../../../shared/billing/stripe-event-store";
import { PostForm } from "../../console/ui/forms";
import { AdminFrame, Badge, Facts, Select, time } from "./frame";

function eventTone(status: string): "ok" | "bad" | "warn" | "plain" {
  return status === "processed" ? "ok" : status === "failed" ? "bad" : status === "received" ? "warn" : "plain";
}

/** Stripe events as they arrived, filtered by status and type, and reconciliation with Stripe. */
export function WebhooksPage(props: {
  csrf: string;
  operator: string;
  status: string;
  type: string;
  types: readonly string[];
  events: StripeEventRecord[];
  hasMore: boolean;
}) {
  return (
    <AdminFrame title="Webhooks" section="webhooks" csrf={props.csrf} operator={props.operator}>
      <h1>Stripe webhooks</h1>
      <form method="get" action="/admin/webhooks" class="filters" aria-label="Filter events">
        <Select
          name="status"
          label="Status"
          options={[["", "any"], ...EVENT_STATUSES.map((s): [string, string] => [s, s])]}
          value={props.status}
        />
        <Select
          name="type"
          label="Type"
          options={[["", "any"], ...props.types.map((t): [string, string] => [t, t])]}
          value={props.type}
        />
        <button type="submit">Filter</button>
      </form>
      {props.events.length === 0 ? (
        <p>No event matches.</p>
      ) : (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Type</th>
                <th scope="col">Status</th>
                <th scope="col">Outcome</th>
                <th scope="col">Tenant</th>
                <th scope="col">Attempts</th>
                <th scope="col">Received</th>
              </tr>
            </thead>
            <tbody>
              {props.events.map((event) => (
                <tr>
                  <td>
                    <a href={`/admin/webhooks/${encodeURIComponent(event.eventId)}`}>
                      <code>{event.eventId}</code>
                    </a>
                  </td>
                  <td>{event.type}</td>
                  <td>
                    <Badge tone={eventTone(event.status)}>{event.status}</Badge>
                  </td>
                  <td>{event.outcome ?? "—"}</td>
                  <td>
                    {event.tenantId ? (
                      <a href={`/admin/tenants/${encodeURIComponent(event.tenantId)}`}>{event.tenantId}</a>
                    ) : (
                      "—"
                    )}
                  </td>
                  <td>{event.attempts}</td>
                  <td>{time(event.receivedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {props.hasMore ? <p class="muted">Showing the newest 100: filter to see older ones.</p> : null}
      <section class="card" aria-labelledby="reconcile-heading">
        <h2 id="reconcile-heading">Reconcile with Stripe</h2>
        <p>
          Compares the plan and subscription we hold with Stripe's, for one tenant or all with a Stripe customer. The
          first run only reports; you then choose to apply.
        </p>
        <PostForm action="/admin/reconcile" csrf={props.csrf} label="Reconcile with Stripe">
          <div class="filters">
            <div>
              <label for="field-tenant">Tenant id (empty: all)</label>
              <input id="field-tenant" name="tenant_id" type="text" maxlength={100} />
            </div>
            <button type="submit" class="secondary">
              Dry run
            </button>
          </div>
        </PostForm>
      </section>
    </AdminFrame>
  );
}

export interface ReplayResult {
  force: boolean;
  ok: boolean;
  text: string;
}

/** One event: its record, what Stripe holds now, and Replay / Replay anyway. */
export function EventPage(props: {
  csrf: string;
  operator: string;
  eventId: string;
  record: StripeEventRecord | null;
  payload: string | null;
  payloadError: string | null;
  replay?: ReplayResult | null;
}) {
  const { record, replay } = props;
  const action = `/admin/webhooks/${encodeURIComponent(props.eventId)}/replay`;
  return (
    <AdminFrame title={props.eventId} section="webhooks" csrf={props.csrf} operator={props.operator}>
      <p>
        <a href="/admin/webhooks">← Webhooks</a>
      </p>
      <h1>
        Event <code>{props.eventId}</code>
      </h1>
      {replay ? (
        <p class={replay.ok ? "notice" : "alert"} role={replay.ok ? "status" : "alert"} id="replay-result">
          {replay.force ? "Replay anyway" : "Replay"}: {replay.text}
        </p>
      ) : null}
      <div class="grid">
        <section class="card" aria-labelledby="record-heading">
          <h2 id="record-heading">What arrived</h2>
          {record ? (
            <Facts
              items={[
                ["Type", record.type],
                ["Status", <Badge tone={eventTone(record.status)}>{record.status}</Badge>],
                ["Outcome", record.outcome ?? "—"],
                [
                  "Tenant",
                  record.tenantId ? (
                    <a href={`/admin/tenants/${encodeURIComponent(record.tenantId)}`}>{record.tenantId}</a>
                  ) : (
                    "—"
                  ),
                ],
                ["Plan", record.planBefore || record.planAfter ? `${record.planBefore} → ${record.planAfter}` : "—"],
                ["Attempts", String(record.attempts)],
                ["Error", record.error ?? "—"],
                ["Created at Stripe", time(record.created)],
                ["Received", time(record.receivedAt)],
                ["Processed", time(record.processedAt)],
              ]}
            />
          ) : (
            <p>No delivery of this event reached us. Replaying processes it as Stripe holds it.</p>
          )}
        </section>
        <section class="card" aria-labelledby="replay-heading">
          <h2 id="replay-heading">Replay</h2>
          <p>
            Fetches the event from Stripe again and processes it. An event already processed is left alone unless you
            replay it anyway (the handlers apply Stripe's current subscription state, so this is safe to repeat).
          </p>
          <div class="actions">
            <PostForm action={action} csrf={props.csrf} label="Replay">
              <button type="submit">Replay</button>
            </PostForm>
            <PostForm action={action} csrf={props.csrf} label="Replay anyway">
              <input type="hidden" name="force" value="true" />
              <button type="submit" class="danger">
                Replay anyway
              </button>
            </PostForm>
          </div>
        </section>
      </div>
      <section class="card" aria-labelledby="payload-heading">
        <h2 id="payload-heading">Payload (as Stripe holds it now)</h2>
        {props.payload ? (
          <pre tabindex={0}>{props.payload}</pre>
        ) : (
          <p class="alert">{props.payloadError ?? "Not available."}</p>
        )}
      </section>
    </AdminFrame>
  );
}

/** A reconciliation's report; a dry run offers to apply the same scope. */
export function ReconcilePage(props: {
  csrf: string;
  operator: string;
  tenantId: string;
  report: ReconcileReport;
  unpushed: number;
}) {
  const { report } = props;
  return (
    <AdminFrame title="Reconcile" section="webhooks" csrf={props.csrf} operator={props.operator}>
      <p>
        <a href="/admin/webhooks">← Webhooks</a>
      </p>
      <h1>{report.applied ? "Reconciled with Stripe" : "Reconciliation: dry run"}</h1>
      <p role="status">
        Checked {report.checked} tenant{report.checked === 1 ? "" : "s"}
        {props.tenantId ? ` (${props.tenantId})` : ""}: {report.drift.length} differ from Stripe
        {report.applied ? `, ${report.drift.filter((d) => d.fixed).length} fixed` : ""}, {report.errors.length} could
        not be compared.
        {props.unpushed > 0 ? ` ${props.unpushed} fixed records are saved but not yet in force; run again.` : ""}
      </p>
      {report.drift.length > 0 ? (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Tenant</th>
                <th scope="col">Ours</th>
                <th scope="col">Stripe's</th>
                <th scope="col">Fixed</th>
              </tr>
            </thead>
            <tbody>
              {report.drift.map((drift) => (
                <tr>
                  <td>
                    <a href={`/admin/tenants/${encodeURIComponent(drift.tenantId)}`}>{drift.tenantId}</a>
                  </td>
                  <td>
                    {drift.local.plan} · {drift.local.status ?? "no subscription"}
                  </td>
                  <td>
                    {drift.stripe.plan} · {drift.stripe.status ?? "no subscription"}
                  </td>
                  <td>{drift.fixed ? "yes" : "no"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {report.errors.map((error) => (
        <p class="alert">
          {error.tenantId}: {error.message}
        </p>
      ))}
      {!report.applied && report.drift.length > 0 ? (
        <PostForm action="/admin/reconcile" csrf={props.csrf} label="Apply reconciliation">
          <input type="hidden" name="tenant_id" value={props.tenantId} />
          <input type="hidden" name="apply" value="true" />
          <div class="actions">
            <button type="submit">Apply: write Stripe's state over ours</button>
          </div>
        </PostForm>
      ) : null}
    </AdminFrame>
  );
}
