/** @jsxImportSource hono/jsx */
import type { AdmitInput } from "../../durable-objects/tenant/contract";
import { getTenant } from "../../shared/tenants/tenants";
import { admissionError } from "../admission";
import { settingsOf } from "../api/admin/tenant-lookup";
import { errorAnswer } from "../error-answer";
import { type ConsoleContext, signedIn } from "./context";
import { MessagePage } from "./pages/public";
import { render } from "./render";

/**
 * Admit a console action the way the API route of the same resource is
 * admitted: through the tenant's Durable Object, as one request of the
 * tenant (rate limit), with the same options (`stripeCall` spends the
 * tenant's Stripe budget, `write` is refused while its database moves).
 * Returns a page saying why when refused, null when admitted.
 */
export async function admitAction(
  c: ConsoleContext,
  options: Pick<AdmitInput, "write" | "allowSuspended" | "stripeCall">,
  back: { href: string; label: string },
): Promise<Response | null> {
  const record = await getTenant(c.get("services").mgmtDb, signedIn(c).account.tenantId);
  if (!record) return failurePage(c, new Error("the signed-in account has no tenant"), back);
  const settings = settingsOf(record);
  const result = await c.env.TENANT_DO.getByName(record.id).admit({
    kind: "api",
    ...options,
    tenant: {
      id: record.id,
      plan: settings.plan,
      status: settings.status,
      rateLimitOverride: settings.rateLimitOverride,
      recordUpdatedAt: settings.recordUpdatedAt,
      graceEndsAt: settings.graceEndsAt,
    },
  });
  if (result.admitted) return null;
  return failurePage(c, admissionError(result, c.get("services").config.planLimits), back);
}

/** Anything a console action threw, as a page: the same translation as the API's answers (workers/error-answer.ts). */
export function failurePage(
  c: ConsoleContext,
  error: unknown,
  back: { href: string; label: string },
): Promise<Response> {
  const answer = errorAnswer(error, c.get("logger"), { surface: "http" });
  const response = render(
    c,
    <MessagePage title="That did not work" message={sentence(answer.message)} alert link={back} />,
    answer.status,
  );
  return response.then((page) => {
    for (const [name, value] of Object.entries(answer.headers)) page.headers.set(name, value);
    return page;
  });
}

const sentence = (message: string) => {
  const text = message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
};
