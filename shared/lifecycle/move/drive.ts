import { auditStatement } from "../../audit";
import type { DatabaseClient } from "../../db/client";
import { type MoveDeps, openSource, openTarget } from "./context";
import { getMove, type MoveStep, nextStep, requireMove, statusStatement, stepIndex, type TenantMove } from "./record";
import { STEPS, type StepOptions, Stop } from "./steps";
import { lowerFence } from "./write-fence";

/**
 * Moving a tenant to another database while it keeps working. The driver
 * runs the steps of `STEPS` from the one the durable record has reached, so a
 * driver that dies anywhere can be resumed by any other. Reads keep going to
 * the old database until the pointer switches; writes are refused from the
 * first step until the last (the tenant's Durable Object refuses them up
 * front, the write fence on the old database makes sure none lands late).
 */
export interface AdvanceOptions extends StepOptions {
  /** Stop (as if the process died) right after this step is recorded. Tests use it to interrupt at every step. */
  stopAfter?: MoveStep;
}

export interface AdvanceResult {
  move: TenantMove;
  /** False when the driver stopped early (deadline, `stopAfter`); drive again to carry on. */
  done: boolean;
}

const finished = (move: TenantMove) => move.status !== "running" || move.step === "resumed";

/**
 * Drive a running move from the step it has reached to the end (or to
 * `deadline`). A failure lowers the fence and releases the tenant, so writes
 * go on against the old database while the move waits, `failed`, for an
 * operator to resume or cancel it.
 */
export async function advanceMove(deps: MoveDeps, id: string, options: AdvanceOptions = {}): Promise<AdvanceResult> {
  const { mgmt, config } = deps;
  let move = await requireMove(mgmt, id);
  let source: DatabaseClient | null = null;
  // Opened on the first step that needs it, once for the whole drive.
  const opened: { target?: Promise<DatabaseClient> } = {};
  try {
    source = await openSource(config, move);
    const context = { deps, source, options, target: () => (opened.target ??= openTarget(config, move)) };
    for (let step = nextStep(move.step); step && !finished(move); step = nextStep(move.step)) {
      if (step === "requested") throw new Error("a move never returns to requested");
      const progressed = await STEPS[step]({ ...context, move });
      if (!progressed) break;
      move = await requireMove(mgmt, id);
      await mgmt.execute(
        auditStatement({
          tenantId: move.tenantId,
          actor: "system",
          action: "tenant.migration.step",
          target: id,
          details: { step, ...(step === "verified" && { tables: move.tables }) },
        }),
        "write",
      );
      if (options.stopAfter === step) return { move, done: false };
    }
    move = await requireMove(mgmt, id);
    return { move, done: finished(move) };
  } catch (error) {
    if (error instanceof Stop) return { move: await requireMove(mgmt, id), done: error.why === "not_running" };
    await failMove(deps, move, error, source);
    return { move: await requireMove(mgmt, id), done: true };
  } finally {
    source?.close();
    await opened.target?.then((db) => db.close()).catch(() => {});
  }
}

/** Record the failure, then give the tenant back a database it can write to. */
async function failMove(deps: MoveDeps, move: TenantMove, error: unknown, source: DatabaseClient | null) {
  const { mgmt, gate } = deps;
  const message = `${error instanceof Error ? error.message : String(error)}`.slice(0, 500);
  const step = (await getMove(mgmt, move.id))?.step ?? move.step;
  await mgmt.batch(
    [
      statusStatement(move.id, "failed", { error: `while moving past ${step}: ${message}`, from: ["running"] }),
      auditStatement({
        tenantId: move.tenantId,
        actor: "system",
        action: "tenant.migration.fail",
        target: move.id,
        details: { step, error: message },
      }),
    ],
    "write",
  );
  // Before the switch the old database is still the tenant's: let it write
  // again rather than wait for an operator. After the switch, release onto the new one.
  if (stepIndex(step) < stepIndex("switched")) {
    if (source) await lowerFence(source);
    await gate.releaseMigrating(move.id, null);
  } else {
    await gate.releaseMigrating(move.id, move.source.generation + 1);
  }
}
