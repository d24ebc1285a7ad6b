/** @jsxImportSource hono/jsx */
import type { ImportSummary } from "../../../shared/lifecycle/portability/import";
import { Field, FormError, PostForm } from "../ui/forms";
import { Layout, type Viewer } from "../ui/layout";

const MAX_RESULT_ROWS = 500;

function ImportResult(props: { summary: ImportSummary }) {
  const { summary } = props;
  const notable = summary.results.filter((result) => result.status !== "created" && result.status !== "updated");
  return (
    <section class="card" aria-labelledby="import-result-heading" id="import-result">
      <h2 id="import-result-heading">Import finished</h2>
      <p role="status">
        Read as {summary.format}: <strong>{summary.created}</strong> created, <strong>{summary.updated}</strong>{" "}
        updated, <strong>{summary.unchanged}</strong> unchanged, <strong>{summary.skipped}</strong> skipped,{" "}
        <strong>{summary.failed}</strong> failed.
      </p>
      {notable.length > 0 ? (
        <table>
          <caption>Lines not created, with the reason</caption>
          <thead>
            <tr>
              <th scope="col">Line</th>
              <th scope="col">Result</th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
          <tbody>
            {notable.slice(0, MAX_RESULT_ROWS).map((result) => (
              <tr>
                <td>{result.file ? `${result.file}:${result.line}` : String(result.line)}</td>
                <td>{result.status}</td>
                <td>{result.reason ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {notable.length > MAX_RESULT_ROWS ? (
        <p class="muted">{`And ${notable.length - MAX_RESULT_ROWS} more lines.`}</p>
      ) : null}
    </section>
  );
}

export function DataPage(props: {
  viewer: Viewer;
  teamName: string;
  imported?: ImportSummary | null;
  error?: { form: "import" | "delete"; message: string } | null;
}) {
  const { viewer, error } = props;
  return (
    <Layout title="Data" viewer={viewer} section="data">
      <h1>Data</h1>
      {props.imported ? <ImportResult summary={props.imported} /> : null}
      <section class="card" aria-labelledby="export-heading">
        <h2 id="export-heading">Export</h2>
        <p>
          Every memory, link, project and work session, downloaded as it is read. JSONL can be imported here or into
          another account; Markdown is for reading.
        </p>
        <div class="actions">
          <a class="button" href="/app/data/export?format=jsonl" download>
            Download JSONL
          </a>
          <a class="button secondary" href="/app/data/export?format=markdown" download>
            Download Markdown
          </a>
        </div>
      </section>
      <section class="card" aria-labelledby="import-heading">
        <h2 id="import-heading">Import</h2>
        <p>
          Our JSONL export, the knowledge-graph JSONL of <code>@modelcontextprotocol/server-memory</code>, or a Markdown
          file. Memories already here are skipped, so a file can be imported again safely. Each memory created counts as
          a tool call of this month.
        </p>
        {error?.form === "import" ? <FormError message={error.message} /> : null}
        {/* `data-upload`: with JavaScript, ui/script.ts sends the form with upload progress; without, it posts as is. */}
        <form
          method="post"
          action="/app/data/import"
          enctype="multipart/form-data"
          aria-label="Import a file"
          data-upload="import-progress"
        >
          <input type="hidden" name="csrf" value={viewer.csrf} />
          <label for="field-file">File</label>
          <input id="field-file" name="file" type="file" required accept=".jsonl,.json,.md,.markdown,.txt" />
          <label for="field-format">Format</label>
          <select id="field-format" name="format">
            <option value="auto">Recognise it from the file</option>
            <option value="muninn">Muninn JSONL export</option>
            <option value="knowledge-graph">server-memory knowledge graph (JSONL)</option>
            <option value="markdown">Markdown</option>
          </select>
          <div class="actions">
            <button type="submit">Import</button>
          </div>
          {/* Shown only by the script (no dead bar without JavaScript). */}
          <div class="upload-progress" id="import-progress" hidden>
            <label for="import-progress-bar">Upload progress</label>
            <progress id="import-progress-bar" max={100} value={0} />
            <p class="muted" role="status" id="import-progress-text" />
          </div>
        </form>
      </section>
      <section class="card" aria-labelledby="delete-heading">
        <h2 id="delete-heading">Delete the account</h2>
        <p>
          This deletes, at once and for good: every memory (the account's databases), every key and connected app, the
          subscription (cancelled now, no further charges), usage and activity history, and your sign-in. Nothing can be
          restored afterwards; download an export first if you may want it. You are signed out when it is done.
        </p>
        {error?.form === "delete" ? <FormError message={error.message} /> : null}
        <PostForm action="/app/data/delete" csrf={viewer.csrf} label="Delete the account">
          <Field
            name="team_name"
            label={`Type the team name, ${props.teamName}, to confirm`}
            autocomplete="off"
            invalid={error?.form === "delete"}
          />
          <div class="actions">
            <button type="submit" class="danger">
              Delete the account and everything in it
            </button>
          </div>
        </PostForm>
      </section>
    </Layout>
  );
}
