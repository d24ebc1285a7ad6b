import type { Migration } from "../../db/migrate";

const now = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/**
 * Management DB v7: a tenant is a team.
 *
 * - `memberships`: which accounts belong to which team, with a role. One row
 *   per (team, account), and at most one owner per team: both are unique
 *   indexes, so two admins changing the same person at once cannot leave two
 *   rows or two owners — the database decides, as it does for signup.
 *   Every existing account becomes the owner of its tenant.
 * - `users.tenant_id` stays as the account's home team (where it signed up
 *   or was first invited); `users.role` is no longer read: the role lives in
 *   `memberships`. `users.display_name` is how teammates see the person.
 * - `api_keys.user_id`: the member who made the key; the key can never do
 *   more than that member's role allows, and dies with the membership.
 *   Existing keys belong to their tenant's owner. NULL only for tenants the
 *   operator made without an owner account.
 * - `invitations`: a link sent by email, stored only as a SHA-256, single
 *   use, 7 days. At most one pending invitation per (team, email). Role
 *   `owner` is an ownership transfer offered to an existing member.
 * - `console_sessions.tenant_id`: the team the console is showing.
 * - `tenants.seat_override`: the operator's per-tenant seat count, like
 *   `rate_limit_override`.
 */
export default {
  version: 7,
  name: "teams",
  statements: [
    `CREATE TABLE memberships (
      tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
      user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
      invited_by TEXT,
      created_at TEXT NOT NULL DEFAULT (${now}),
      updated_at TEXT NOT NULL DEFAULT (${now}),
      PRIMARY KEY (tenant_id, user_id)
    )`,
    "CREATE UNIQUE INDEX memberships_one_owner ON memberships (tenant_id) WHERE role = 'owner'",
    "CREATE INDEX memberships_user ON memberships (user_id)",
    `INSERT INTO memberships (tenant_id, user_id, role, created_at, updated_at)
      SELECT tenant_id, id, 'owner', created_at, created_at FROM users`,
    "ALTER TABLE users ADD COLUMN display_name TEXT",
    "ALTER TABLE api_keys ADD COLUMN user_id TEXT",
    `UPDATE api_keys SET user_id = (
      SELECT m.user_id FROM memberships m WHERE m.tenant_id = api_keys.tenant_id AND m.role = 'owner')`,
    "CREATE INDEX api_keys_tenant_user ON api_keys (tenant_id, user_id)",
    `CREATE TABLE invitations (
      id TEXT PRIMARY KEY,
      tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
      token_hash TEXT NOT NULL UNIQUE,
      email TEXT NOT NULL,
      role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
      invited_by TEXT NOT NULL,
      created_at TEXT NOT NULL DEFAULT (${now}),
      sent_at TEXT NOT NULL DEFAULT (${now}),
      expires_at TEXT NOT NULL,
      accepted_at TEXT,
      accepted_by TEXT,
      revoked_at TEXT
    )`,
    `CREATE UNIQUE INDEX invitations_one_pending ON invitations (tenant_id, email)
      WHERE accepted_at IS NULL AND revoked_at IS NULL`,
    "CREATE INDEX invitations_tenant_sent ON invitations (tenant_id, sent_at)",
    "ALTER TABLE console_sessions ADD COLUMN tenant_id TEXT",
    "UPDATE console_sessions SET tenant_id = (SELECT u.tenant_id FROM users u WHERE u.id = console_sessions.user_id)",
    "ALTER TABLE tenants ADD COLUMN seat_override INTEGER CHECK (seat_override IS NULL OR seat_override > 0)",
  ],
} satisfies Migration;
