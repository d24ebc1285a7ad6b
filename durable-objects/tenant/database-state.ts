import type { DatabaseState } from "./contract";

/** The object's storage of `DatabaseState`, and which migration its alarm drives. */

type Row = {
  generation: number | null;
  migration_id: string | null;
  migrating_since: number | null;
  drive_migration: string | null;
};

export class DatabaseStateStore {
  readonly #sql: SqlStorage;
  #row: Row;

  /** The table is created by storage migration 2 (`./migrations.ts`). */
  constructor(sql: SqlStorage) {
    this.#sql = sql;
    this.#row = sql.exec<Row>("SELECT * FROM tenant_database WHERE id = 1").toArray()[0] ?? {
      generation: null,
      migration_id: null,
      migrating_since: null,
      drive_migration: null,
    };
  }

  get(): DatabaseState {
    const { generation, migration_id, migrating_since } = this.#row;
    return { generation, migration: migration_id ? { id: migration_id, since: migrating_since ?? 0 } : null };
  }

  mark(migrationId: string, now: number): void {
    if (this.#row.migration_id === migrationId) return;
    this.#write({ ...this.#row, migration_id: migrationId, migrating_since: now });
  }

  /** End `migrationId`'s pause; a generation only ever moves forward. */
  release(migrationId: string, generation: number | null): void {
    const next = { ...this.#row };
    if (next.migration_id === migrationId) {
      next.migration_id = null;
      next.migrating_since = null;
    }
    if (next.drive_migration === migrationId) next.drive_migration = null;
    if (generation !== null) next.generation = Math.max(next.generation ?? 0, generation);
    this.#write(next);
  }

  /** The migration the object's alarm should drive, if any. */
  driving(): string | null {
    return this.#row.drive_migration;
  }

  drive(migrationId: string | null): void {
    this.#write({ ...this.#row, drive_migration: migrationId });
  }

  #write(row: Row): void {
    this.#sql.exec(
      `INSERT INTO tenant_database (id, generation, migration_id, migrating_since, drive_migration) VALUES (1, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET generation = excluded.generation, migration_id = excluded.migration_id,
         migrating_since = excluded.migrating_since, drive_migration = excluded.drive_migration`,
      row.generation,
      row.migration_id,
      row.migrating_since,
      row.drive_migration,
    );
    this.#row = row;
  }
}
