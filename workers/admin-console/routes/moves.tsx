/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { AppError } from "../../../shared/errors";
import { getMove, listOpenMoves, MOVE_STEPS } from "../../../shared/lifecycle/move/record";
import { cancelTenantMove, finalizeTenantMove, resumeTenantMove } from "../../api/admin/operations";
import { render } from "../../console/render";
import { type AdminEnv, asApp, operator } from "../context";
import { ConfirmPage } from "../pages/confirm";
import { MovesPage } from "../pages/moves";
import { adminCsrfValid } from "../session";
import { expiredForm, noticeFrom } from "./notices";

/** `/admin/moves`: tenant moves an operator may act on, with resume, cancel and finalize (each confirmed first). */
export const adminMoves = new Hono<AdminEnv>();

adminMoves.get("/admin/moves", async (c) => {
  const moves = await listOpenMoves(c.get("services").mgmtDb);
  return render(c, <MovesPage csrf={c.get("csrf")} operator={operator(c).name} moves={moves} notice={noticeFrom(c)} />);
});

const ACTIONS = {
  resume: { run: resumeTenantMove, done: "resumed", says: "continues from its step (a failed move starts over)" },
  cancel: { run: cancelTenantMove, done: "cancelled", says: "stops; the tenant stays on its old database" },
  finalize: { run: finalizeTenantMove, done: "finalized", says: "deletes the old database for good" },
} as const;

adminMoves.post("/admin/moves/:tenantId/:moveId/:action{resume|cancel|finalize}", async (c) => {
  const form = await c.req.formData();
  if (!(await adminCsrfValid(c, form))) return expiredForm(c);
  const { tenantId, moveId } = c.req.param();
  const name = c.req.param("action") as keyof typeof ACTIONS;
  const action = ACTIONS[name];
  const move = await getMove(c.get("services").mgmtDb, moveId);
  if (!move || move.tenantId !== tenantId) {
    throw new AppError("not_found", `no move ${JSON.stringify(moveId)} for this tenant`, {
      code: "migration_not_found",
    });
  }
  if (form.get("confirm") !== "yes") {
    return render(
      c,
      <ConfirmPage
        csrf={c.get("csrf")}
        operator={operator(c).name}
        section="moves"
        title={`${name[0]?.toUpperCase()}${name.slice(1)} move ${move.id}`}
        action={c.req.path}
        fields={{}}
        rows={[]}
        cancel="/admin/moves"
        button={`Confirm: ${name}`}
      >
        <p>
          Tenant <code>{tenantId}</code>, move {move.status} at step {move.step} ({MOVE_STEPS.indexOf(move.step) + 1} of{" "}
          {MOVE_STEPS.length}): the move {action.says}. The audit log names you.
        </p>
      </ConfirmPage>,
    );
  }
  await action.run(asApp(c), tenantId, moveId);
  return c.redirect(`/admin/moves?notice=${action.done}`, 303);
});
