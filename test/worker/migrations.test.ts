import { describe, expect, it } from "vitest";
import { openDatabase } from "../../shared/db/client";
import { type Migration, migrate, schemaVersion } from "../../shared/db/migrate";
import { managementMigrations } from "../../shared/migrations/management";
import { config } from "./support";

function scratchDb() {
  const name = `scratch-${crypto.randomUUID().slice(0, 8)}`;
  return openDatabase({ url: `${config.turso.apiUrl}/${name}/`, authToken: config.mgmtDb.authToken }, 10_000);
}

const sample: Migration[] = [
  { version: 1, name: "one", statements: ["CREATE TABLE a (x INTEGER)"] },
  {
    version: 2,
    name: "two",
    statements: ["ALTER TABLE a ADD COLUMN y TEXT", "INSERT INTO a (x, y) VALUES (1, 'seed')"],
  },
];

describe("schema migrations", () => {
  it("applies every management migration and reports the version", async () => {
    const db = scratchDb();
    const result = await migrate(db, managementMigrations);
    expect(result).toEqual({
      from: 0,
      to: managementMigrations.length,
      applied: managementMigrations.map((m) => m.version),
    });
    expect(await schemaVersion(db)).toBe(managementMigrations.length);
  });

  it("v8 drops users.role (roles live in memberships) and keeps every account and membership", async () => {
    const db = scratchDb();
    await migrate(db, managementMigrations.slice(0, 7));
    await db.batch(
      [
        "INSERT INTO users (id, tenant_id, email) VALUES ('usr_owner', 't1', 'owner@example.test')",
        "INSERT INTO users (id, tenant_id, email) VALUES ('usr_viewer', 't1', 'viewer@example.test')",
        "INSERT INTO memberships (tenant_id, user_id, role) VALUES ('t1', 'usr_owner', 'owner')",
        "INSERT INTO memberships (tenant_id, user_id, role) VALUES ('t1', 'usr_viewer', 'viewer')",
      ],
      "write",
    );
    // Before: the old column calls the invited viewer an owner.
    const before = await db.execute("SELECT role FROM users WHERE id = 'usr_viewer'", "read");
    expect(before.rows[0]?.role).toBe("owner");
    expect((await migrate(db, managementMigrations)).applied).toEqual([8]);
    const columns = await db.execute("SELECT name FROM pragma_table_info('users')", "read");
    expect(columns.rows.map((row) => row.name)).not.toContain("role");
    const people = await db.execute(
      "SELECT u.email, m.role FROM users u JOIN memberships m ON m.user_id = u.id ORDER BY u.email",
      "read",
    );
    expect(people.rows.map((row) => [row.email, row.role])).toEqual([
      ["owner@example.test", "owner"],
      ["viewer@example.test", "viewer"],
    ]);
  });

  it("is a no-op the second time", async () => {
    const db = scratchDb();
    await migrate(db, sample);
    const again = await migrate(db, sample);
    expect(again).toEqual({ from: 2, to: 2, applied: [] });
    const rows = await db.execute("SELECT COUNT(*) AS n FROM a", "read");
    expect(rows.rows[0]?.n).toBe(1);
  });

  it("applies each migration exactly once when two runners race", async () => {
    const name = `race-${crypto.randomUUID().slice(0, 8)}`;
    const open = () =>
      openDatabase({ url: `${config.turso.apiUrl}/${name}/`, authToken: config.mgmtDb.authToken }, 10_000);
    const [first, second] = await Promise.all([migrate(open(), sample), migrate(open(), sample)]);
    expect([...first.applied, ...second.applied].sort()).toEqual([1, 2]);
    const rows = await open().execute("SELECT COUNT(*) AS n FROM a", "read");
    expect(rows.rows[0]?.n).toBe(1);
  });

  it("rolls a failing migration back whole and leaves the version where it was", async () => {
    const db = scratchDb();
    await migrate(db, sample.slice(0, 1));
    const broken: Migration[] = [
      sample[0]!,
      { version: 2, name: "broken", statements: ["CREATE TABLE b (x INTEGER)", "THIS IS NOT SQL"] },
    ];
    await expect(migrate(db, broken)).rejects.toThrow();
    expect(await schemaVersion(db)).toBe(1);
    const tables = await db.execute("SELECT name FROM sqlite_master WHERE name = 'b'", "read");
    expect(tables.rows).toHaveLength(0);
  });

  it("refuses a migration list with a gap", async () => {
    await expect(migrate(scratchDb(), [sample[1]!])).rejects.toThrow(/without gaps/);
  });
});
