import type { Database } from "../db/client";
import { exportStream } from "../lifecycle/portability/export";
import { applyImport, type ImportSummary } from "../lifecycle/portability/import";
import type { ImportPlan } from "../lifecycle/portability/import-formats";
import { hasRefusedControl } from "../text";
import { type MemoryCaller, type MemoryMeter, type MemoryUse, memoryAccessRefusal, quotaSpent } from "./access";
import { attributionColumn } from "./attribution";
import { type BriefingInput, buildBriefing } from "./briefing";
import { type BrowseInput, browseMemories, memoryCounts } from "./browse";
import { moveMemories, reopenIssue } from "./curation";
import {
  checkFields,
  FIELDS,
  memoryChangeRule,
  newIssueRule,
  newMemoryRule,
  TEXT_LIMITS,
  workSessionEndRule,
  workSessionStartRule,
} from "./fields";
import { inspectMemory } from "./inspect";
import { addIssue, listIssues, type NewIssue, resolveIssue } from "./issues";
import {
  forgetMemories,
  getMemories,
  type ListInput,
  linkMemories,
  listMemories,
  type MemoryChange,
  restoreMemories,
  updateMemory,
} from "./memories";
import type { LinkRelation } from "./model";
import { createProject, listProjects, renameProject } from "./projects";
import { type RecallInput, recall } from "./recall";
import { type NewMemory, remember } from "./remember";
import { endWorkSession, startWorkSession } from "./work-sessions";

/**
 * The one way into a tenant's memory. Every door — the MCP tools, `POST
 * /api/import`, `GET /api/export`, the console — opens one of these with the
 * request's credential and the tenant's quota meter, and calls it; none
 * checks scope, quota or fields itself. Each operation here:
 *
 * 1. checks the credential's scope: reads need `mcp:read` (or `mcp:tools`),
 *    writes `mcp:tools` — before any input is read or any row touched;
 * 2. applies the field rules (`fields.ts`), the same ones the tool schemas
 *    are built from, so a door that skipped its own schema still cannot
 *    store what a tool would refuse;
 * 3. meters writes: one unit per record created (memory, link, project,
 *    work session) and one per change to existing records, taken before the
 *    write and given back for what turned out not to be created. A write
 *    that does not fit the quota writes nothing.
 *
 * Reads are not metered here: a tool call is charged by the MCP dispatch
 * whatever it does, and an export is one request under the rate limit.
 */
export class MemoryDoor {
  readonly #db: Database;
  readonly #caller: MemoryCaller;
  readonly #meter: MemoryMeter;

  constructor(db: Database, caller: MemoryCaller, meter: MemoryMeter) {
    this.#db = db;
    this.#caller = caller;
    this.#meter = meter;
  }

  /** Throw the scope refusal for `use`, if any. Doors call it to refuse before reading a request's body. */
  allow(use: MemoryUse, what: string): void {
    const refusal = memoryAccessRefusal(this.#caller.scopes, use, what);
    if (refusal) throw refusal;
  }

  // --- Reads ---

  recall(input: RecallInput) {
    this.allow("read", "recall");
    return recall(this.#db, input);
  }

  get(ids: string[]) {
    this.allow("read", "get");
    return getMemories(this.#db, ids);
  }

  list(input: ListInput) {
    this.allow("read", "list");
    return listMemories(this.#db, input);
  }

  briefing(input: BriefingInput) {
    this.allow("read", "context");
    return buildBriefing(this.#db, input);
  }

  issues(options: Parameters<typeof listIssues>[1]) {
    this.allow("read", "track list");
    return listIssues(this.#db, options);
  }

  projects() {
    this.allow("read", "projects list");
    return listProjects(this.#db);
  }

  /** The console's listing: a keyset page, not counted as a use (`browse.ts`). */
  browse(input: BrowseInput) {
    this.allow("read", "browse");
    return browseMemories(this.#db, input);
  }

  counts(project?: string) {
    this.allow("read", "counts");
    return memoryCounts(this.#db, project);
  }

  /** One memory with its history, links and authors, not counted as a use (`inspect.ts`). */
  inspect(id: string) {
    this.allow("read", "inspect");
    return inspectMemory(this.#db, checkFields(FIELDS.memoryId, id));
  }

  export(tenantId: string, format: "jsonl" | "markdown"): ReadableStream<Uint8Array> {
    this.allow("read", "export");
    return exportStream(this.#db, tenantId, format);
  }

  // --- Writes ---

  /** Save memories, all or none; each new one costs a unit, a duplicate's unit is given back. */
  async remember(items: Omit<NewMemory, "source">[]) {
    this.allow("write", "remember");
    const source = this.#source();
    const writtenBy = this.#by();
    const checked = items.map((item) => ({
      ...checkFields(newMemoryRule, { ...item, ...(source && { source }) }),
      writtenBy,
    }));
    return this.#metered(checked.length, async () => {
      const saved = await remember(this.#db, checked);
      return { result: saved, unused: saved.filter((one) => one.deduplicated).length };
    });
  }

  async update(change: MemoryChange) {
    this.allow("write", "update");
    const checked = { ...checkFields(memoryChangeRule, change), writtenBy: this.#by() };
    return this.#metered(1, async () => ({ result: await updateMemory(this.#db, checked), unused: 0 }));
  }

  async forget(ids: string[], hard: boolean) {
    this.allow("write", "forget");
    return this.#metered(1, async () => ({
      result: await forgetMemories(this.#db, ids, hard, Date.now(), this.#by()),
      unused: 0,
    }));
  }

  async restore(ids: string[]) {
    this.allow("write", "restore");
    return this.#metered(1, async () => ({
      result: await restoreMemories(this.#db, ids, Date.now(), this.#by()),
      unused: 0,
    }));
  }

  async link(fromId: string, toId: string, relation: LinkRelation) {
    this.allow("write", "link");
    const rel = checkFields(FIELDS.relation, relation);
    return this.#metered(1, async () => {
      const linked = await linkMemories(this.#db, fromId, toId, rel, Date.now(), this.#by());
      return { result: linked, unused: linked.created ? 0 : 1 };
    });
  }

  async addIssue(issue: Omit<NewIssue, "source">) {
    this.allow("write", "track add");
    const source = this.#source();
    const checked = { ...checkFields(newIssueRule, { ...issue, ...(source && { source }) }), writtenBy: this.#by() };
    return this.#metered(1, async () => {
      const saved = await addIssue(this.#db, checked);
      return { result: saved, unused: saved.deduplicated ? 1 : 0 };
    });
  }

  async resolveIssue(id: string, resolution: string) {
    this.allow("write", "track resolve");
    const checked = checkFields(FIELDS.resolution, resolution);
    return this.#metered(1, async () => ({
      result: await resolveIssue(this.#db, id, checked, Date.now(), this.#by()),
      unused: 0,
    }));
  }

  /** Move memories to another project (created if new): one change, one unit. */
  async move(ids: string[], project: string) {
    this.allow("write", "move");
    const slug = checkFields(FIELDS.project, project);
    return this.#metered(1, async () => ({ result: await moveMemories(this.#db, ids, slug, this.#by()), unused: 0 }));
  }

  async reopenIssue(id: string) {
    this.allow("write", "track reopen");
    return this.#metered(1, async () => ({ result: await reopenIssue(this.#db, id, this.#by()), unused: 0 }));
  }

  async startWorkSession(input: { project?: string; goal?: string }) {
    this.allow("write", "session start");
    const checked = checkFields(workSessionStartRule, input);
    return this.#metered(1, async () => ({ result: await startWorkSession(this.#db, checked, this.#by()), unused: 0 }));
  }

  async endWorkSession(input: Parameters<typeof endWorkSession>[1]) {
    this.allow("write", "session end");
    const checked = checkFields(workSessionEndRule, input);
    return this.#metered(1, async () => ({ result: await endWorkSession(this.#db, checked, this.#by()), unused: 0 }));
  }

  async createProject(slug: string, name?: string) {
    this.allow("write", "projects create");
    const checkedSlug = checkFields(FIELDS.project, slug);
    const checkedName = name === undefined ? undefined : checkFields(FIELDS.projectName, name);
    return this.#metered(1, async () => {
      const made = await createProject(this.#db, checkedSlug, checkedName);
      return { result: made, unused: made.created ? 0 : 1 };
    });
  }

  async renameProject(from: string, to: string, name?: string) {
    this.allow("write", "projects rename");
    checkFields(FIELDS.project, from);
    checkFields(FIELDS.project, to);
    const checkedName = name === undefined ? undefined : checkFields(FIELDS.projectName, name);
    return this.#metered(1, async () => ({ result: await renameProject(this.#db, from, to, checkedName), unused: 0 }));
  }

  /**
   * Import memories: the scope is checked before `readPlan` reads the
   * request's body. Every record is checked against the field rules and
   * metered one unit each; a record that fails either is reported on its
   * line and skipped, and the good ones go in (`shared/lifecycle/import.ts`).
   */
  async import(readPlan: () => Promise<ImportPlan>): Promise<ImportSummary> {
    this.allow("write", "import");
    return applyImport(this.#db, await readPlan(), this.#meter);
  }

  /**
   * Run `write` after taking `units` from the quota, all or nothing; give
   * back what it reports unused, and everything if it throws (nothing was
   * created: every write below is one transaction).
   */
  async #metered<T>(units: number, write: () => Promise<{ result: T; unused: number }>): Promise<T> {
    const { granted, quota } = await this.#meter.take(units);
    if (granted < units) {
      await this.#meter.giveBack(granted);
      throw quotaSpent(units, granted, quota);
    }
    let unused = units;
    try {
      const done = await write();
      unused = done.unused;
      return done.result;
    } finally {
      if (unused > 0) await this.#meter.giveBack(unused);
    }
  }

  /** Who is writing, as the attribution columns store it. */
  #by(): string | null {
    return attributionColumn(this.#caller.attribution);
  }

  /** The caller's name as a memory's source: a client names itself freely, so it is cut to the rule, never refused. */
  #source(): string | undefined {
    const name = this.#caller.source;
    if (!name) return undefined;
    const line = [...name]
      .filter((char) => !hasRefusedControl(char, "line"))
      .join("")
      .trim();
    return line.slice(0, TEXT_LIMITS.sourceChars) || undefined;
  }
}
