/** @jsxImportSource hono/jsx */
import { MOVE_STEPS, type TenantMove } from "../../../shared/lifecycle/move/record";
import { PostForm } from "../../console/ui/forms";
import { AdminFrame, Badge, time } from "./frame";

/** Moves an operator may still act on, across tenants. */
export function MovesPage(props: { csrf: string; operator: string; moves: TenantMove[]; notice?: string | null }) {
  return (
    <AdminFrame title="Moves" section="moves" csrf={props.csrf} operator={props.operator}>
      <h1>Database moves</h1>
      <p>
        Running, failed, and completed moves whose old database is still kept. A failed move resumes from the top; a
        completed one can be finalized (its old database deleted) before its retention ends. Start a move with the admin
        API (docs/lifecycle.md).
      </p>
      {props.notice ? (
        <p class="notice" role="status">
          {props.notice}
        </p>
      ) : null}
      {props.moves.length === 0 ? <p>No move in progress.</p> : <MovesTable moves={props.moves} csrf={props.csrf} />}
    </AdminFrame>
  );
}

function tone(status: TenantMove["status"]): "ok" | "bad" | "warn" | "plain" {
  return status === "failed" ? "bad" : status === "running" ? "warn" : status === "completed" ? "ok" : "plain";
}

/** One row per move: where it is, and the actions its status allows. */
export function MovesTable(props: { moves: TenantMove[]; csrf: string }) {
  return (
    <div class="scroll">
      <table>
        <thead>
          <tr>
            <th scope="col">Move</th>
            <th scope="col">Status</th>
            <th scope="col">Step</th>
            <th scope="col">From → to</th>
            <th scope="col">Started</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {props.moves.map((move) => {
            const base = `/admin/moves/${encodeURIComponent(move.tenantId)}/${encodeURIComponent(move.id)}`;
            return (
              <tr>
                <td>
                  <code>{move.id}</code>
                  <br />
                  <a href={`/admin/tenants/${encodeURIComponent(move.tenantId)}`}>{move.tenantId}</a>
                </td>
                <td>
                  <Badge tone={tone(move.status)}>{move.status}</Badge>
                  {move.error ? <p class="muted">{move.error}</p> : null}
                </td>
                <td>
                  {move.step} ({MOVE_STEPS.indexOf(move.step) + 1} of {MOVE_STEPS.length})
                </td>
                <td>
                  <code>{move.source.name}</code> → <code>{move.target.name ?? move.target.group ?? "?"}</code>
                </td>
                <td>{time(move.createdAt)}</td>
                <td>
                  <div class="actions">
                    {move.status === "running" || move.status === "failed" ? (
                      <>
                        <MoveAction action={`${base}/resume`} csrf={props.csrf} label="Resume" />
                        <MoveAction action={`${base}/cancel`} csrf={props.csrf} label="Cancel" danger />
                      </>
                    ) : null}
                    {move.status === "completed" ? (
                      <MoveAction action={`${base}/finalize`} csrf={props.csrf} label="Finalize" danger />
                    ) : null}
                  </div>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function MoveAction(props: { action: string; csrf: string; label: string; danger?: boolean }) {
  return (
    <PostForm action={props.action} csrf={props.csrf} label={props.label}>
      <button type="submit" class={props.danger ? "danger" : "secondary"}>
        {props.label}
      </button>
    </PostForm>
  );
}
