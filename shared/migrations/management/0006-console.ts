import type { Migration } from "../../db/migrate";

/**
 * Management DB v6: people in a browser.
 *
 * - `console_sessions`: the web console's sign-in sessions. The row is keyed
 *   by the SHA-256 of the cookie's value, so a read of this table (a backup,
 *   a leaked replica) yields nothing that signs anyone in. An idle deadline
 *   (`idle_expires_at`, pushed forward while the person is active) and an
 *   absolute one (`expires_at`, never moved) bound every session.
 * - `email_tokens`: single-use links sent by email (verify an address,
 *   reset a password, confirm a new address), also stored only as a hash.
 *   `email` is the address the link was sent to, so a verification proves
 *   that address and no later one. `return_to` is a same-origin path the
 *   link continues to (an OAuth authorization in progress).
 * - `users.email_verified_at`: null until the owner opens a verification link.
 *   Accounts created before this migration had no way to verify; they start
 *   unverified and see the banner like everyone else.
 */
export default {
  version: 6,
  name: "console",
  statements: [
    "ALTER TABLE users ADD COLUMN email_verified_at TEXT",
    `CREATE TABLE console_sessions (
      id_hash TEXT PRIMARY KEY,
      user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      created_at TEXT NOT NULL,
      idle_expires_at TEXT NOT NULL,
      expires_at TEXT NOT NULL,
      ip TEXT
    )`,
    "CREATE INDEX console_sessions_user ON console_sessions (user_id)",
    `CREATE TABLE email_tokens (
      token_hash TEXT PRIMARY KEY,
      purpose TEXT NOT NULL CHECK (purpose IN ('verify', 'reset', 'change_email')),
      user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      email TEXT NOT NULL,
      return_to TEXT,
      created_at TEXT NOT NULL,
      expires_at TEXT NOT NULL,
      used_at TEXT
    )`,
    "CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose)",
  ],
} satisfies Migration;
