import type { Migration } from "../../db/migrate";

/**
 * Management DB v8: `users.role` goes. Since v7 a person's role is their
 * membership's (`memberships.role`, one per team); the old column kept
 * saying 'owner' for every account, invited viewers included, so an operator
 * reading `users` with `npm run sql` was told the wrong thing. Nothing reads
 * it; SQLite drops a column whose only constraint is its own CHECK.
 */
export default {
  version: 8,
  name: "users-without-role",
  statements: ["ALTER TABLE users DROP COLUMN role"],
} satisfies Migration;
