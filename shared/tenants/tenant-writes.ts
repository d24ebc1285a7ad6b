/**
 * Every statement that writes the `tenants` table is built here. Callers
 * (signup, the admin API, billing, account deletion) keep their own logic —
 * which guard decides whether a webhook may change a plan is billing's
 * business — but the table's columns, and the rule that every change stamps
 * `updated_at`, have this one owner. A column the schema does not have is a
 * type error, not a failed statement at run time.
 */

/** The columns a change may set; `id`, `created_at` and `updated_at` are not among them. */
export type TenantColumn =
  | "org_name"
  | "owner_email"
  | "plan"
  | "status"
  | "rate_limit_override"
  | "stripe_customer_id"
  | "stripe_subscription_id"
  | "billing_grace_ends_at"
  | "billing_payment_failed_at"
  | "billing_payment_version";

/** What a statement binds here: text, numbers and NULL (no blobs or bigints live in this table). */
export type SqlArg = string | number | null;

/** A piece of SQL with its own arguments: a guard, or a computed value such as `COALESCE(…, ?)`. */
export interface SqlFragment {
  sql: string;
  args: SqlArg[];
}

export function fragment(sql: string, ...args: SqlArg[]): SqlFragment {
  return { sql, args };
}

/** Every fragment joined with AND, for `WHERE`. */
export function allOf(...conditions: SqlFragment[]): SqlFragment {
  return {
    sql: conditions.map((condition) => `(${condition.sql})`).join(" AND "),
    args: conditions.flatMap((c) => c.args),
  };
}

type NewValue = SqlArg | SqlFragment;

const isFragment = (value: NewValue): value is SqlFragment =>
  typeof value === "object" && value !== null && "sql" in value && "args" in value;

const NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/** `UPDATE tenants SET <set>, updated_at = now WHERE <where>`; a plain value is bound, a fragment is inlined with its arguments. */
export function updateTenants(set: Partial<Record<TenantColumn, NewValue>>, where: SqlFragment): SqlFragment {
  const assignments: string[] = [];
  const args: SqlArg[] = [];
  for (const [column, value] of Object.entries(set) as [TenantColumn, NewValue][]) {
    if (isFragment(value)) {
      assignments.push(`${column} = ${value.sql}`);
      args.push(...value.args);
    } else {
      assignments.push(`${column} = ?`);
      args.push(value);
    }
  }
  return {
    sql: `UPDATE tenants SET ${[...assignments, `updated_at = ${NOW}`].join(", ")} WHERE ${where.sql}`,
    args: [...args, ...where.args],
  };
}

/** One tenant by id, with any further guard. */
export function tenantWhere(tenantId: string, ...guards: SqlFragment[]): SqlFragment {
  return allOf(fragment("id = ?", tenantId), ...guards);
}

export function insertTenant(tenant: { id: string; orgName: string; ownerEmail: string; plan: string }): SqlFragment {
  return {
    sql: "INSERT INTO tenants (id, org_name, owner_email, plan) VALUES (?, ?, ?, ?)",
    args: [tenant.id, tenant.orgName, tenant.ownerEmail, tenant.plan],
  };
}

/** The last step of an account's deletion: the row goes (the audit trail of the deletion is written beside it). */
export function deleteTenantRow(tenantId: string): SqlFragment {
  return { sql: "DELETE FROM tenants WHERE id = ?", args: [tenantId] };
}
