/** @jsxImportSource hono/jsx */
import type { RateLimitStatus, SessionList, UsageStatus } from "../../../durable-objects/tenant/contract";
import type { AuditRecord } from "../../../shared/audit";
import type { BreakerSnapshot } from "../../../shared/db/circuit-breaker";
import type { TenantMove } from "../../../shared/lifecycle/move/record";
import { PLANS } from "../../../shared/plans";
import type { Member } from "../../../shared/teams/memberships";
import type { SeatUsage } from "../../../shared/teams/seats";
import type { Tenant, TenantDatabase } from "../../../shared/tenants/tenants";
import { Notice, PostForm } from "../../console/ui/forms";
import { AdminFrame, Badge, Facts, Select, time } from "./frame";
import { MovesTable } from "./moves";
import { TeamCard } from "./team";
import { statusTone } from "./tenants";

export interface TenantView {
  tenant: Tenant;
  database: TenantDatabase | null;
  /** This isolate's breaker for the tenant's database; null when this isolate has not opened it. */
  breaker: BreakerSnapshot | null;
  usage: UsageStatus | null;
  rate: RateLimitStatus | null;
  sessions: SessionList | null;
  moves: TenantMove[];
  audit: AuditRecord[];
  seats: SeatUsage | null;
  members: Member[];
}

/** Everything an operator asks about one tenant, and the changes they can make to it. */
export function TenantPage(props: { csrf: string; operator: string; view: TenantView; notice?: string | null }) {
  const { tenant, database, breaker, usage, rate, sessions, moves, audit, seats, members } = props.view;
  const href = `/admin/tenants/${encodeURIComponent(tenant.id)}`;
  return (
    <AdminFrame title={tenant.orgName} section="tenants" csrf={props.csrf} operator={props.operator}>
      <p>
        <a href="/admin/tenants">← Tenants</a>
      </p>
      <h1>{tenant.orgName}</h1>
      <Notice message={props.notice} />
      <div class="grid">
        <section class="card" aria-labelledby="account-heading">
          <h2 id="account-heading">Account</h2>
          <Facts
            items={[
              ["Id", <code>{tenant.id}</code>],
              ["Owner", tenant.ownerEmail],
              ["Plan", tenant.plan],
              ["Rate override", tenant.rateLimitOverride === null ? "none" : `${tenant.rateLimitOverride} / min`],
              ["Status", <Badge tone={statusTone(tenant.status)}>{tenant.status}</Badge>],
              ["Grace ends", time(tenant.graceEndsAt)],
              ["API keys", String(tenant.apiKeysCount)],
              ["Created", time(tenant.createdAt)],
            ]}
          />
        </section>
        <section class="card" aria-labelledby="change-heading">
          <h2 id="change-heading">Change</h2>
          <p class="muted">You will be asked to confirm. The audit log names you.</p>
          <PostForm action={`${href}/change`} csrf={props.csrf} label="Change plan, status or override">
            <Select name="plan" label="Plan" options={PLANS} value={tenant.plan} />
            <Select name="status" label="Status" options={["active", "suspended"]} value={tenant.status} />
            <label for="field-override">Rate-limit override (requests a minute)</label>
            <span class="hint" id="field-override-hint">
              Empty: the plan's limit.
            </span>
            <input
              id="field-override"
              name="rate_limit_override"
              type="text"
              inputmode="numeric"
              pattern="[0-9]*"
              value={tenant.rateLimitOverride === null ? "" : String(tenant.rateLimitOverride)}
              aria-describedby="field-override-hint"
            />
            <div class="actions">
              <button type="submit">Review change</button>
            </div>
          </PostForm>
        </section>
        <section class="card" aria-labelledby="usage-heading">
          <h2 id="usage-heading">Usage this month</h2>
          {usage ? (
            <Facts
              items={[
                ["Period", usage.usage.period],
                [
                  "Tool calls",
                  usage.quota.limit === null
                    ? `${usage.usage.toolCalls} (no quota)`
                    : `${usage.usage.toolCalls} of ${usage.quota.limit} (${percent(usage.usage.toolCalls, usage.quota.limit)})`,
                ],
                ["Requests", String(usage.usage.requests)],
                ["Rate-limited", String(usage.usage.rateLimited)],
                ["Over quota", String(usage.usage.quotaExceeded)],
                ["Quota resets", time(usage.quota.resetsAt)],
              ]}
            />
          ) : (
            <p>The tenant's object did not answer.</p>
          )}
        </section>
        <section class="card" aria-labelledby="rate-heading">
          <h2 id="rate-heading">Rate-limit window now</h2>
          {rate ? (
            <Facts
              items={[
                ["Limit", `${rate.limit} per ${rate.windowSeconds} s (${rate.source})`],
                ["Used", String(rate.used)],
                ["Remaining", String(rate.remaining)],
                ["Recovered in", `${rate.resetSeconds} s`],
              ]}
            />
          ) : (
            <p>The tenant's rate limiter did not answer.</p>
          )}
        </section>
        <section class="card" aria-labelledby="db-heading">
          <h2 id="db-heading">Database</h2>
          {database ? (
            <Facts
              items={[
                ["Name", <code>{database.name}</code>],
                ["URL", <code>{database.url}</code>],
                ["Schema", `version ${database.schemaVersion}`],
                [
                  "Breaker",
                  breaker ? (
                    <>
                      <Badge tone={breaker.state === "closed" ? "ok" : breaker.state === "open" ? "bad" : "warn"}>
                        {breaker.state.replace("_", "-")}
                      </Badge>{" "}
                      {breaker.consecutiveFailures} failures in a row
                    </>
                  ) : (
                    "not used by this isolate yet"
                  ),
                ],
              ]}
            />
          ) : (
            <p>No database recorded.</p>
          )}
        </section>
      </div>
      <TeamCard seats={seats} members={members} />
      <section class="card" aria-labelledby="sessions-heading">
        <h2 id="sessions-heading">MCP sessions</h2>
        {sessions ? <SessionsTable sessions={sessions} /> : <p>The tenant's object did not answer.</p>}
        <PostForm action={`${href}/sessions/reap`} csrf={props.csrf} label="Reap idle sessions">
          <div class="filters">
            <div>
              <label for="field-idle">Close sessions idle for at least (minutes)</label>
              <input id="field-idle" name="idle_minutes" type="text" inputmode="numeric" pattern="[0-9]*" value="10" />
            </div>
            <button type="submit" class="danger">
              Reap idle
            </button>
          </div>
        </PostForm>
      </section>
      <section class="card" aria-labelledby="moves-heading">
        <h2 id="moves-heading">Database moves</h2>
        {moves.length === 0 ? <p>This tenant has never moved.</p> : <MovesTable moves={moves} csrf={props.csrf} />}
      </section>
      <section class="card" aria-labelledby="audit-heading">
        <h2 id="audit-heading">Recent audit entries</h2>
        <AuditTable entries={audit} />
      </section>
    </AdminFrame>
  );
}

function percent(used: number, limit: number): string {
  return limit === 0 ? "—" : `${Math.round((used / limit) * 100)}%`;
}

function SessionsTable(props: { sessions: SessionList }) {
  const { sessions, created, closed } = props.sessions;
  const now = Date.now();
  const closedTotal = Object.values(closed).reduce((sum, count) => sum + count, 0);
  return (
    <>
      <p>
        {sessions.length} open · {created} created · {closedTotal} closed
      </p>
      {sessions.length > 0 ? (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Session</th>
                <th scope="col">Client</th>
                <th scope="col">Started</th>
                <th scope="col">Idle</th>
              </tr>
            </thead>
            <tbody>
              {sessions.map((session) => (
                <tr>
                  <td>
                    <code>{session.id.slice(0, 12)}…</code>
                  </td>
                  <td>{[session.clientInfo?.name, session.clientInfo?.version].filter(Boolean).join(" ") || "—"}</td>
                  <td>{time(new Date(session.createdAt).toISOString())}</td>
                  <td>{Math.floor((now - session.lastSeenAt) / 60_000)} min</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}

function AuditTable(props: { entries: AuditRecord[] }) {
  if (props.entries.length === 0) return <p>No entries.</p>;
  return (
    <div class="scroll">
      <table>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Who</th>
            <th scope="col">What</th>
            <th scope="col">Change</th>
          </tr>
        </thead>
        <tbody>
          {props.entries.map((entry) => (
            <tr>
              <td>{time(entry.createdAt)}</td>
              <td>{entry.actor}</td>
              <td class="nowrap">
                <code>{entry.action}</code>
              </td>
              <td>
                {entry.before || entry.after ? (
                  <code>
                    {JSON.stringify(entry.before)} → {JSON.stringify(entry.after)}
                  </code>
                ) : Object.keys(entry.details).length > 0 ? (
                  <code>{JSON.stringify(entry.details)}</code>
                ) : (
                  "—"
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
