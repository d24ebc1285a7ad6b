/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { z } from "zod";
import {
  EVENT_STATUSES,
  getStripeEvent,
  listStripeEvents,
  listStripeEventTypes,
} from "../../../shared/billing/stripe-event-store";
import { AppError } from "../../../shared/errors";
import { fetchStripeEvent, reconcileWithStripe, replayStripeEvent, STRIPE_EVENT_ID } from "../../api/admin/operations";
import { render } from "../../console/render";
import { errorAnswer } from "../../error-answer";
import { type AdminEnv, type AdminPageContext, asApp, operator } from "../context";
import { EventPage, ReconcilePage, type ReplayResult, WebhooksPage } from "../pages/webhooks";
import { adminCsrfValid } from "../session";
import { expiredForm } from "./notices";

/** `/admin/webhooks` and `/admin/reconcile`: Stripe events, replay, and reconciliation. */
export const adminWebhookPages = new Hono<AdminEnv>();

const listQuery = z.object({
  status: z.enum(EVENT_STATUSES).or(z.literal("")).default(""),
  type: z
    .string()
    .max(100)
    .regex(/^[a-z0-9_.]*$/)
    .default(""),
});

adminWebhookPages.get("/admin/webhooks", async (c) => {
  const parsed = listQuery.safeParse(c.req.query());
  const query = parsed.success ? parsed.data : { status: "" as const, type: "" };
  const { mgmtDb } = c.get("services");
  const [{ events, hasMore }, types] = await Promise.all([
    listStripeEvents(mgmtDb, { status: query.status || undefined, type: query.type || undefined, limit: 100 }),
    listStripeEventTypes(mgmtDb),
  ]);
  return render(
    c,
    <WebhooksPage
      csrf={c.get("csrf")}
      operator={operator(c).name}
      status={query.status}
      type={query.type}
      types={types}
      events={events}
      hasMore={hasMore}
    />,
  );
});

adminWebhookPages.get("/admin/webhooks/:eventId", async (c) => eventPage(c, null));

/** Replay (or, with `force`, replay anyway) and show the result on the event's page. */
adminWebhookPages.post("/admin/webhooks/:eventId/replay", async (c) => {
  const form = await c.req.formData();
  if (!(await adminCsrfValid(c, form))) return expiredForm(c);
  const force = form.get("force") === "true";
  let replay: ReplayResult;
  try {
    const { result } = await replayStripeEvent(asApp(c), c.req.param("eventId"), force);
    const plan = result.planBefore !== result.planAfter ? ` Plan ${result.planBefore} → ${result.planAfter}.` : "";
    replay = { force, ok: true, text: `${result.outcome}.${plan}` };
  } catch (error) {
    // A failed replay is a result to show, with the same safe message the API gives; it is logged there.
    if (!(error instanceof AppError)) throw error;
    replay = { force, ok: false, text: errorAnswer(error, c.get("logger"), { surface: "http" }).message };
  }
  return eventPage(c, replay);
});

async function eventPage(c: AdminPageContext, replay: ReplayResult | null): Promise<Response> {
  const eventId = c.req.param("eventId") ?? "";
  if (!STRIPE_EVENT_ID.test(eventId)) throw new AppError("not_found", "that is not a Stripe event id (evt_…)");
  const [record, payload] = await Promise.all([
    getStripeEvent(c.get("services").mgmtDb, eventId),
    fetchStripeEvent(asApp(c), eventId).then(
      (event) => ({ text: JSON.stringify(event, null, 2), error: null }),
      (error: unknown) => ({
        text: null,
        error: error instanceof AppError ? error.message : "Stripe did not answer.",
      }),
    ),
  ]);
  return render(
    c,
    <EventPage
      csrf={c.get("csrf")}
      operator={operator(c).name}
      eventId={eventId}
      record={record}
      payload={payload.text}
      payloadError={payload.error}
      replay={replay}
    />,
  );
}

const reconcileForm = z.object({
  tenant_id: z.string().trim().max(100).default(""),
  apply: z.literal("true").optional(),
});

/** A dry run, whose page offers to apply the same scope; applying is the second POST. */
adminWebhookPages.post("/admin/reconcile", async (c) => {
  const form = await c.req.formData();
  if (!(await adminCsrfValid(c, form))) return expiredForm(c);
  const parsed = reconcileForm.safeParse(Object.fromEntries(form));
  if (!parsed.success) throw new AppError("invalid_request", "tenant id: at most 100 characters");
  const { tenant_id: tenantId, apply } = parsed.data;
  const { report, unpushed } = await reconcileWithStripe(asApp(c), {
    apply: apply === "true",
    tenantId: tenantId || undefined,
  });
  return render(
    c,
    <ReconcilePage
      csrf={c.get("csrf")}
      operator={operator(c).name}
      tenantId={tenantId}
      report={report}
      unpushed={unpushed}
    />,
  );
});
