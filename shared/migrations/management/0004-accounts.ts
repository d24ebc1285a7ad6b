import type { Migration } from "../../db/migrate";

const now = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/**
 * Management DB v4: people who sign in (the owner account of each tenant),
 * and API key scopes named as they are enforced.
 *
 * - `users.id` is opaque (`usr_…`): OAuth tokens embed it, so it must say
 *   nothing about the person. `email` is stored lowercased and unique, which
 *   makes duplicate signups fail inside the provisioning transaction even
 *   when two arrive at once.
 * - `password_hash` carries its own parameters (`scrypt$N$r$p$salt$hash`),
 *   so they can be raised later and old hashes still verify. NULL for an
 *   owner the operator created without a password: no sign-in until one is set.
 * - Keys created before scopes were enforced carried `["mcp"]` and could do
 *   everything the API offered; they keep exactly that. Any other key naming
 *   the old `mcp` scope (billing's owner keys: `["mcp","keys:manage"]`) gets
 *   its enforced name, `mcp:tools`.
 */
export default {
  version: 4,
  name: "accounts",
  statements: [
    `CREATE TABLE users (
      id TEXT PRIMARY KEY,
      tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
      email TEXT NOT NULL UNIQUE,
      password_hash TEXT,
      role TEXT NOT NULL DEFAULT 'owner' CHECK (role IN ('owner')),
      created_at TEXT NOT NULL DEFAULT (${now}),
      updated_at TEXT NOT NULL DEFAULT (${now})
    )`,
    "CREATE INDEX users_tenant ON users (tenant_id)",
    `UPDATE api_keys SET scopes = '["mcp:tools","keys:manage"]' WHERE scopes = '["mcp"]'`,
    `UPDATE api_keys SET scopes = replace(scopes, '"mcp"', '"mcp:tools"') WHERE scopes LIKE '%"mcp"%'`,
  ],
} satisfies Migration;
