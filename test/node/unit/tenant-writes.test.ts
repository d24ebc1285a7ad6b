import { describe, expect, it } from "vitest";
import { allOf, fragment, tenantWhere, updateTenants } from "../../../shared/tenants/tenant-writes";

describe("writes to the tenants table", () => {
  it("binds plain values and inlines fragments with their own arguments, in the order they appear", () => {
    const statement = updateTenants(
      {
        plan: "pro",
        billing_grace_ends_at: fragment(
          "CASE WHEN billing_payment_version <= ? THEN NULL ELSE billing_grace_ends_at END",
          7,
        ),
        stripe_customer_id: null,
      },
      tenantWhere("t_1", fragment("stripe_subscription_id IS NULL OR stripe_subscription_id = ?", "sub_1")),
    );
    expect(statement.sql).toBe(
      "UPDATE tenants SET plan = ?, billing_grace_ends_at = CASE WHEN billing_payment_version <= ? THEN NULL ELSE billing_grace_ends_at END, " +
        "stripe_customer_id = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') " +
        "WHERE (id = ?) AND (stripe_subscription_id IS NULL OR stripe_subscription_id = ?)",
    );
    expect(statement.args).toEqual(["pro", 7, null, "t_1", "sub_1"]);
  });

  it("always stamps updated_at, even for a change of one column", () => {
    expect(updateTenants({ status: "deleted" }, tenantWhere("t_2")).sql).toMatch(/updated_at = strftime/);
  });

  it("keeps each guard's OR inside its own parentheses when guards are combined", () => {
    const where = allOf(fragment("a = ? OR b = ?", 1, 2), fragment("c = ?", 3));
    expect(where).toEqual({ sql: "(a = ? OR b = ?) AND (c = ?)", args: [1, 2, 3] });
  });
});
