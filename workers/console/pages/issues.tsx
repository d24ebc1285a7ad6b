/** @jsxImportSource hono/jsx */
import type { Memory } from "../../../shared/memory/model";
import { FormError, Notice, PostForm } from "../ui/forms";
import { Layout, type Viewer } from "../ui/layout";
import { MemoryTabs, shortTime, title } from "./memories";

/** Tracked open work (memories of kind `issue`): open ones first, each resolvable or reopenable here. */
export function IssuesPage(props: {
  viewer: Viewer;
  issues: Memory[];
  state: "open" | "resolved" | "all";
  notice?: string | null;
  error?: string | null;
}) {
  const { viewer, issues, state } = props;
  return (
    <Layout title="Issues" viewer={viewer} section="memories" wide>
      <h1>Memories</h1>
      <MemoryTabs current="issues" />
      <Notice message={props.notice} />
      <FormError message={props.error} />
      <nav class="tabs secondary" aria-label="Issue state">
        {(["open", "resolved", "all"] as const).map((choice) => (
          <a href={`/app/memories/issues?state=${choice}`} aria-current={state === choice ? "page" : undefined}>
            {choice === "all" ? "All" : choice === "open" ? "Open" : "Resolved"}
          </a>
        ))}
      </nav>
      {issues.length === 0 ? <p role="status">{`No ${state === "all" ? "" : `${state} `}issues.`}</p> : null}
      <ul class="memories issues">
        {issues.map((issue) => (
          <li data-id={issue.id}>
            <div>
              <a class="memory-title" href={`/app/memories/${issue.id}`}>
                {title(issue)}
              </a>
              <p class="muted">
                <span class={issue.issue?.status === "open" ? "badge warn" : "badge ok"}>
                  {issue.issue?.status ?? "open"}
                </span>{" "}
                severity {String(issue.issue?.severity ?? "—")} · {issue.project} · {shortTime(issue.updatedAt)}
              </p>
              {issue.issue?.resolution ? <p>{`Resolution: ${issue.issue.resolution}`}</p> : null}
              {issue.issue?.status === "resolved" ? (
                <PostForm
                  action={`/app/memories/${issue.id}/reopen`}
                  csrf={viewer.csrf}
                  label={`Reopen ${title(issue)}`}
                >
                  <button type="submit" class="secondary">
                    Reopen
                  </button>
                </PostForm>
              ) : (
                <PostForm
                  action={`/app/memories/${issue.id}/resolve`}
                  csrf={viewer.csrf}
                  label={`Resolve ${title(issue)}`}
                >
                  <label for={`field-resolution-${issue.id}`}>How it was resolved</label>
                  <input id={`field-resolution-${issue.id}`} name="resolution" type="text" required maxlength={2000} />
                  <div class="actions">
                    <button type="submit">Resolve</button>
                  </div>
                </PostForm>
              )}
            </div>
          </li>
        ))}
      </ul>
    </Layout>
  );
}
