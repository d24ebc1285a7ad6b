/** @jsxImportSource hono/jsx */
import type { InspectedMemory } from "../../../shared/memory/inspect";
import { MEMORY_KINDS } from "../../../shared/memory/model";
import { FormError, Notice, PostForm } from "../ui/forms";
import { Layout, type Viewer } from "../ui/layout";
import { Author, MemoryTabs, shortTime, title } from "./memories";

/**
 * One memory: everything about it, the edit form (a new version), Forget or
 * Restore, Delete forever behind a confirmation box, and its history.
 */
function EditForm(props: { inspected: InspectedMemory; csrf: string; invalid: boolean }) {
  const { memory } = props.inspected;
  const describedBy = props.invalid ? "form-error" : undefined;
  return (
    <PostForm action={`/app/memories/${memory.id}/edit`} csrf={props.csrf} label="Edit this memory">
      <input type="hidden" name="version" value={String(memory.version)} />
      <label for="field-title">Title</label>
      <input id="field-title" name="title" type="text" value={memory.title ?? ""} maxlength={200} />
      <label for="field-content">Content</label>
      <textarea id="field-content" name="content" rows={8} required aria-describedby={describedBy}>
        {memory.content}
      </textarea>
      <div class="filters">
        <div>
          <label for="field-kind">Kind</label>
          <select id="field-kind" name="kind">
            {MEMORY_KINDS.map((kind) => (
              <option value={kind} selected={memory.kind === kind}>
                {kind}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="field-importance">Importance (1–5)</label>
          <select id="field-importance" name="importance">
            {[1, 2, 3, 4, 5].map((level) => (
              <option value={String(level)} selected={memory.importance === level}>
                {String(level)}
              </option>
            ))}
          </select>
        </div>
        <div class="wide-field">
          <label for="field-tags">Tags</label>
          <span class="hint" id="field-tags-hint">
            Separated by commas
          </span>
          <input
            id="field-tags"
            name="tags"
            type="text"
            value={memory.tags.join(", ")}
            aria-describedby="field-tags-hint"
          />
        </div>
      </div>
      <div class="actions">
        <button type="submit">Save as a new version</button>
      </div>
    </PostForm>
  );
}

function History(props: { inspected: InspectedMemory }) {
  const { memory, versions, writtenBy } = props.inspected;
  return (
    <section class="card" aria-labelledby="history-heading">
      <h2 id="history-heading">History</h2>
      <ol class="history" reversed>
        <li>
          <p>
            <strong>{`Version ${memory.version}`}</strong> (current), since {shortTime(memory.updatedAt)},{" "}
            <Author by={writtenBy} />
          </p>
        </li>
        {versions.map((version) => (
          <li>
            <p>
              <strong>{`Version ${version.version}`}</strong>, replaced {shortTime(version.replacedAt)},{" "}
              <Author by={version.writtenBy} />
            </p>
            {version.title ? <p class="muted">{`Title: ${version.title}`}</p> : null}
            <pre class="content">{version.content}</pre>
          </li>
        ))}
      </ol>
      {versions.length === 0 ? <p class="muted">No earlier versions: it has not been edited.</p> : null}
    </section>
  );
}

function Links(props: { inspected: InspectedMemory }) {
  const { links } = props.inspected;
  if (links.length === 0) return null;
  return (
    <section class="card" aria-labelledby="links-heading">
      <h2 id="links-heading">Links</h2>
      <ul>
        {links.map((link) => (
          <li>
            {link.direction === "to" ? `${link.relation} → ` : `← ${link.relation} of `}
            <a href={`/app/memories/${link.otherId}`}>{link.otherTitle ?? link.otherId}</a>
            {link.otherStatus && link.otherStatus !== "active" ? ` (${link.otherStatus})` : ""}{" "}
            <span class="muted">
              {shortTime(link.createdAt)}, <Author by={link.createdBy} />
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Danger(props: { inspected: InspectedMemory; csrf: string }) {
  const { memory } = props.inspected;
  return (
    <section class="card" aria-labelledby="danger-heading">
      <h2 id="danger-heading">{memory.status === "forgotten" ? "Restore or delete" : "Forget or delete"}</h2>
      {memory.status === "forgotten" ? (
        <PostForm action={`/app/memories/${memory.id}/restore`} csrf={props.csrf} label="Restore this memory">
          <p>Forgotten {memory.forgottenAt ? shortTime(memory.forgottenAt) : ""}: agents do not recall it.</p>
          <button type="submit">Restore</button>
        </PostForm>
      ) : (
        <PostForm action={`/app/memories/${memory.id}/forget`} csrf={props.csrf} label="Forget this memory">
          <p>Forgetting hides it from recall; it can be restored for 30 days.</p>
          <button type="submit" class="secondary">
            Forget
          </button>
        </PostForm>
      )}
      <PostForm action={`/app/memories/${memory.id}/delete`} csrf={props.csrf} label="Delete this memory forever">
        <label class="check" for="field-delete-confirm">
          <input id="field-delete-confirm" type="checkbox" name="confirm" value="yes" required />
          Delete it, its history and its links for good; this cannot be undone
        </label>
        <div class="actions">
          <button type="submit" class="danger">
            Delete forever
          </button>
        </div>
      </PostForm>
    </section>
  );
}

export function MemoryPage(props: {
  viewer: Viewer;
  inspected: InspectedMemory;
  notice?: string | null;
  error?: string | null;
}) {
  const { viewer, inspected } = props;
  const { memory, changedBy } = inspected;
  return (
    <Layout title={title(memory)} viewer={viewer} section="memories" wide>
      <p>
        <a href={`/app/memories?project=${encodeURIComponent(memory.project)}`}>{`← Memories in ${memory.project}`}</a>
      </p>
      <MemoryTabs current="memories" />
      <h1>{title(memory)}</h1>
      <Notice message={props.notice} />
      <FormError message={props.error} />
      <div class="grid">
        <section class="card" aria-labelledby="memory-heading">
          <h2 id="memory-heading">Content</h2>
          <pre class="content">{memory.content}</pre>
          <dl class="facts">
            <dt>Kind</dt>
            <dd>{memory.kind}</dd>
            <dt>Project</dt>
            <dd>{memory.project}</dd>
            <dt>Status</dt>
            <dd>
              {memory.status}
              {memory.supersededBy ? (
                <>
                  {" by "}
                  <a href={`/app/memories/${memory.supersededBy}`}>{memory.supersededBy}</a>
                </>
              ) : null}
            </dd>
            {memory.issue ? (
              <>
                <dt>Issue</dt>
                <dd>{`${memory.issue.status}, severity ${memory.issue.severity ?? "—"}${memory.issue.resolution ? `: ${memory.issue.resolution}` : ""}`}</dd>
              </>
            ) : null}
            <dt>Tags</dt>
            <dd>{memory.tags.length > 0 ? memory.tags.join(", ") : "none"}</dd>
            {memory.files.length > 0 ? (
              <>
                <dt>Files</dt>
                <dd>{memory.files.join(", ")}</dd>
              </>
            ) : null}
            <dt>Importance</dt>
            <dd>{String(memory.importance)}</dd>
            <dt>Created</dt>
            <dd>{shortTime(memory.createdAt)}</dd>
            <dt>Updated</dt>
            <dd>{shortTime(memory.updatedAt)}</dd>
            <dt>Written</dt>
            <dd>
              <Author by={inspected.writtenBy} />
            </dd>
            {changedBy ? (
              <>
                <dt>Last changed</dt>
                <dd>
                  <Author by={changedBy} />
                </dd>
              </>
            ) : null}
            <dt>Used</dt>
            <dd>{`${memory.accessCount} ${memory.accessCount === 1 ? "time" : "times"}`}</dd>
            <dt>Id</dt>
            <dd>
              <code>{memory.id}</code>
            </dd>
          </dl>
        </section>
        {memory.status === "active" ? (
          <section class="card" aria-labelledby="edit-heading">
            <h2 id="edit-heading">Edit</h2>
            <p class="muted">Saving keeps this version in the history; agents recall only the new one.</p>
            <EditForm inspected={inspected} csrf={viewer.csrf} invalid={Boolean(props.error)} />
          </section>
        ) : null}
      </div>
      <Links inspected={inspected} />
      <History inspected={inspected} />
      <Danger inspected={inspected} csrf={viewer.csrf} />
    </Layout>
  );
}
