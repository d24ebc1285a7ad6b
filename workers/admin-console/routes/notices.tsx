/** @jsxImportSource hono/jsx */
import { MessagePage } from "../../console/pages/public";
import { render } from "../../console/render";
import type { AdminPageContext } from "../context";

/**
 * What a page says after an action redirected to it. Only these fixed
 * sentences are shown (the query names one), so a crafted link cannot put
 * words on an operator's page.
 */
const NOTICES: Record<string, string> = {
  changed: "Changed. The audit log has an entry naming you.",
  unchanged: "Nothing to change: the tenant already has these settings.",
  invalid_override: "The rate-limit override must be a whole number from 1 to 100000, or empty.",
  invalid_minutes: "Give the idle time as a whole number of minutes.",
  resumed: "Resumed: the move continues from its alarm.",
  cancelled: "Cancelled: the tenant stays on its old database.",
  finalized: "Finalized: the old database is deleted.",
};

export function noticeFrom(c: AdminPageContext): string | null {
  const key = c.req.query("notice") ?? "";
  if (key === "reaped") {
    const count = Number(c.req.query("count"));
    return Number.isSafeInteger(count) && count >= 0 ? `Closed ${count} idle session${count === 1 ? "" : "s"}.` : null;
  }
  return NOTICES[key] ?? null;
}

export function expiredForm(c: AdminPageContext): Promise<Response> {
  return render(
    c,
    <MessagePage
      title="Form expired"
      message="This form expired (or your session changed). Go back, reload and try again."
      alert
      link={{ href: "/admin", label: "Admin console" }}
    />,
    403,
  );
}
