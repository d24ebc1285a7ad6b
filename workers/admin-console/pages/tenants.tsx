/** @jsxImportSource hono/jsx */
import type { Tenant } from "../../../shared/tenants/tenants";
import { AdminFrame, Badge, time } from "./frame";

export function statusTone(status: string): "ok" | "bad" | "warn" {
  return status === "active" ? "ok" : status === "suspended" ? "bad" : "warn";
}

/** Search by id, email or team name; newest tenants first when the box is empty. */
export function TenantsPage(props: {
  csrf: string;
  operator: string;
  query: string;
  tenants: Tenant[];
  hasMore: boolean;
}) {
  return (
    <AdminFrame title="Tenants" section="tenants" csrf={props.csrf} operator={props.operator}>
      <h1>Tenants</h1>
      <form method="get" action="/admin/tenants" class="filters" aria-label="Search tenants">
        <div>
          <label for="field-q">Id, email or team name</label>
          <input id="field-q" name="q" type="text" value={props.query} maxlength={200} autofocus />
        </div>
        <button type="submit">Search</button>
      </form>
      <h2>{props.query ? `Tenants matching “${props.query}”` : "Newest tenants"}</h2>
      {props.tenants.length === 0 ? (
        <p>No tenant matches.</p>
      ) : (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Team</th>
                <th scope="col">Owner</th>
                <th scope="col">Plan</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {props.tenants.map((tenant) => (
                <tr>
                  <td>
                    <a href={`/admin/tenants/${encodeURIComponent(tenant.id)}`}>{tenant.orgName}</a>
                    <br />
                    <code>{tenant.id}</code>
                  </td>
                  <td>{tenant.ownerEmail}</td>
                  <td>{tenant.plan}</td>
                  <td>
                    <Badge tone={statusTone(tenant.status)}>{tenant.status}</Badge>
                  </td>
                  <td>{time(tenant.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {props.hasMore ? <p class="muted">More match: narrow the search.</p> : null}
    </AdminFrame>
  );
}
