import { describe, expect, it } from "vitest";
import { operatorBrowser, textOf } from "./admin-console-support";
import { emailPerTest, newEmail } from "./console-support";
import { ADMIN, workerFetch } from "./support";
import { api, member, person } from "./teams-support";

const mail = emailPerTest();

describe("admin console: a tenant's team", () => {
  it("shows seats used of the limit (the plan's, then the override) and every member's email, role and join time", async () => {
    const owner = await person("opsteam", "pro");
    const ada = await member(mail, owner, "opsada", "viewer");
    const pending = newEmail("opspending");
    expect(
      (await api(owner.key, "/invitations", { method: "POST", body: { email: pending, role: "member" } })).status,
    ).toBe(201);
    const browser = await operatorBrowser();
    const href = `/admin/tenants/${owner.tenantId}`;
    const before = textOf((await browser.page(href)).html);
    expect(before).toMatch(/Seats used 3 of 3/);
    expect(before).toMatch(/Pending invitations 1/);
    expect(before).toMatch(/Seat limit 3 \(pro plan\)/);
    expect(before).toMatch(new RegExp(`${owner.email} owner \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2} UTC`));
    expect(before).toMatch(new RegExp(`${ada.email} viewer \\d{4}-\\d{2}-\\d{2}`));
    // The pending address is not a member (it appears only in the audit entries).
    expect(before).not.toMatch(new RegExp(`${pending} (owner|admin|member|viewer) \\d{4}`));

    const override = await workerFetch(`/api/tenants/${owner.tenantId}/seats`, {
      method: "PUT",
      headers: ADMIN,
      body: JSON.stringify({ seat_override: 10 }),
    });
    expect(override.status).toBe(200);
    const after = textOf((await browser.page(href)).html);
    expect(after).toMatch(/Seats used 3 of 10/);
    expect(after).toMatch(/Seat limit 10 \(override\)/);
  });
});
