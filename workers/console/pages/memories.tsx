/** @jsxImportSource hono/jsx */
import { type Attribution, describeAttribution } from "../../../shared/memory/attribution";
import type { BrowsedMemory, MemoryCounts } from "../../../shared/memory/browse";
import { clip, MEMORY_KINDS } from "../../../shared/memory/model";
import type { RecallHit } from "../../../shared/memory/recall";
import { FormError, Notice } from "../ui/forms";
import { Layout, type Viewer } from "../ui/layout";

/** The filters of the memories page, as its query string carries them. */
export interface MemoryFilters {
  project: string;
  kind: string;
  tag: string;
  /** "", "1", "7", "30": changed within that many days. */
  days: string;
  status: "active" | "forgotten";
  q: string;
}

export const TIME_CHOICES = [
  { value: "", label: "Any time" },
  { value: "1", label: "Last 24 hours" },
  { value: "7", label: "Last 7 days" },
  { value: "30", label: "Last 30 days" },
] as const;

/** The page's own URL with `filters` (and anything else) in its query, for links that keep them. */
function memoriesHref(filters: Partial<MemoryFilters> & { cursor?: string }): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(filters)) {
    if (value && !(name === "status" && value === "active")) query.set(name, value);
  }
  const text = query.toString();
  return text ? `/app/memories?${text}` : "/app/memories";
}

export const shortTime = (iso: string) => `${iso.replace("T", " ").slice(0, 16)} UTC`;

export function Author(props: { by: Attribution | null }) {
  return <span class="author">{props.by ? `by ${describeAttribution(props.by)}` : "before attribution"}</span>;
}

/** The tabs above the memories: all of them, and issues. */
export function MemoryTabs(props: { current: "memories" | "issues" }) {
  return (
    <nav class="tabs" aria-label="Memory views">
      <a href="/app/memories" aria-current={props.current === "memories" ? "page" : undefined}>
        Memories
      </a>
      <a href="/app/memories/issues" aria-current={props.current === "issues" ? "page" : undefined}>
        Issues
      </a>
    </nav>
  );
}

function Filters(props: { filters: MemoryFilters; counts: MemoryCounts }) {
  const { filters, counts } = props;
  return (
    <form method="get" action="/app/memories" class="filters memory-filters" aria-label="Search and filter memories">
      <div class="wide-field">
        <label for="field-q">Search</label>
        <input id="field-q" name="q" type="search" value={filters.q} placeholder="What do you want to find?" />
      </div>
      <div>
        <label for="field-project">Project</label>
        <select id="field-project" name="project">
          <option value="">All projects</option>
          {counts.projects.map((entry) => (
            <option value={entry.project} selected={filters.project === entry.project}>
              {`${entry.project} (${entry.active})`}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label for="field-kind">Kind</label>
        <select id="field-kind" name="kind">
          <option value="">Every kind</option>
          {MEMORY_KINDS.map((kind) => (
            <option value={kind} selected={filters.kind === kind}>
              {kind}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label for="field-tag">Tag</label>
        <input id="field-tag" name="tag" type="text" value={filters.tag} />
      </div>
      <div>
        <label for="field-days">Changed</label>
        <select id="field-days" name="days">
          {TIME_CHOICES.map((choice) => (
            <option value={choice.value} selected={filters.days === choice.value}>
              {choice.label}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label for="field-status">Showing</label>
        <select id="field-status" name="status">
          <option value="active">Current</option>
          <option value="forgotten" selected={filters.status === "forgotten"}>
            Forgotten (restorable)
          </option>
        </select>
      </div>
      <button type="submit">Show</button>
    </form>
  );
}

function Counts(props: { counts: MemoryCounts; filters: MemoryFilters }) {
  const { counts, filters } = props;
  const total = counts.projects.reduce((sum, entry) => sum + entry.active, 0);
  return (
    <section aria-labelledby="counts-heading" class="counts">
      <h2 id="counts-heading" class="visually-hidden">
        Counts
      </h2>
      <p class="muted">
        <strong>{total}</strong> current {total === 1 ? "memory" : "memories"} in {counts.projects.length}{" "}
        {counts.projects.length === 1 ? "project" : "projects"}.{" "}
        {filters.project ? `In ${filters.project}, by kind: ` : "By kind: "}
        {counts.kinds.map((entry, index) => (
          <>
            {index > 0 ? ", " : ""}
            <a href={memoriesHref({ ...filters, kind: entry.kind, q: "" })}>{`${entry.kind} ${entry.active}`}</a>
          </>
        ))}
        {counts.kinds.length === 0 ? "none yet" : ""}.
      </p>
    </section>
  );
}

/** A memory's title, or its text's beginning when it has none. */
export const title = (memory: { title: string | null; content?: string; snippet?: string; id: string }) =>
  memory.title ?? clip(memory.content ?? memory.snippet ?? memory.id, 80);

/** The rows with a checkbox each, inside the bulk form (the boxes are its fields). */
function MemoryRows(props: { memories: BrowsedMemory[] }) {
  return (
    <ul class="memories" id="memory-list" aria-label="Memories, newest first">
      {props.memories.map((memory) => (
        <li data-id={memory.id}>
          <input
            type="checkbox"
            name="id"
            value={memory.id}
            form="bulk"
            id={`select-${memory.id}`}
            aria-label={`Select ${title(memory)}`}
          />
          <div>
            <a class="memory-title" href={`/app/memories/${memory.id}`}>
              {title(memory)}
            </a>
            <p class="excerpt">{memory.content.length > 240 ? `${memory.content.slice(0, 239)}…` : memory.content}</p>
            <p class="muted">
              <span class="badge">{memory.kind}</span> {memory.project} · {shortTime(memory.updatedAt)} ·{" "}
              <Author by={memory.writtenBy} />
              {memory.tags.length > 0 ? ` · ${memory.tags.map((tag) => `#${tag}`).join(" ")}` : ""}
            </p>
          </div>
        </li>
      ))}
    </ul>
  );
}

function BulkForm(props: { csrf: string; status: "active" | "forgotten"; back: string }) {
  return (
    <form method="post" action="/app/memories/bulk" id="bulk" class="bulk" aria-label="Change the selected memories">
      <input type="hidden" name="csrf" value={props.csrf} />
      <input type="hidden" name="back" value={props.back} />
      <fieldset>
        <legend>With the selected memories</legend>
        <div class="filters">
          <div>
            <label for="field-action">Action</label>
            <select id="field-action" name="action">
              {props.status === "active" ? <option value="forget">Forget (restorable for 30 days)</option> : null}
              {props.status === "forgotten" ? <option value="restore">Restore</option> : null}
              <option value="move">Move to project</option>
              <option value="delete">Delete forever</option>
            </select>
          </div>
          <div>
            <label for="field-to-project">Project to move to</label>
            <input id="field-to-project" name="to_project" type="text" autocomplete="off" />
          </div>
        </div>
        <label class="check" for="field-confirm">
          <input id="field-confirm" type="checkbox" name="confirm" value="yes" />
          Deleting forever cannot be undone: I mean it
        </label>
        <div class="actions">
          <button type="submit" class="secondary">
            Apply to selected
          </button>
        </div>
      </fieldset>
    </form>
  );
}

/** A value of recall's explain as text: numbers as given, lists joined, objects as name value pairs. */
function explainValue(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (Array.isArray(value)) return value.map(explainValue).join(", ");
  if (value && typeof value === "object") {
    return Object.entries(value)
      .map(([name, inner]) => `${name} ${explainValue(inner)}`)
      .join(" · ");
  }
  return String(value);
}

/**
 * Why a hit matched: the query words found in it, its relevance, and
 * recall's explain rendered as given — every signal and weight recall
 * reports, whatever they are, so a change to the ranking shows here as is.
 */
function WhyMatched(props: { hit: RecallHit; matched: string[] }) {
  const { hit, matched } = props;
  return (
    <details class="why">
      <summary>Why it matched</summary>
      <dl class="facts">
        <dt>Matched words</dt>
        <dd>{matched.length > 0 ? matched.join(", ") : "none in the title, tags or snippet"}</dd>
        <dt>Relevance</dt>
        <dd>{hit.relevance}</dd>
        {Object.entries(hit.explain ?? {}).flatMap(([section, value]) =>
          value && typeof value === "object" && !Array.isArray(value)
            ? Object.entries(value).map(([name, inner]) => (
                <>
                  <dt>{`${section}: ${name}`}</dt>
                  <dd>{explainValue(inner)}</dd>
                </>
              ))
            : [
                <>
                  <dt>{section}</dt>
                  <dd>{explainValue(value)}</dd>
                </>,
              ],
        )}
      </dl>
    </details>
  );
}

export interface SearchResult {
  hits: { hit: RecallHit; matched: string[] }[];
  note?: string;
  otherProjects?: string[];
}

function SearchHits(props: { result: SearchResult; filters: MemoryFilters }) {
  const { result, filters } = props;
  return (
    <section aria-labelledby="search-heading">
      <h2 id="search-heading">{`Search results for “${filters.q}”`}</h2>
      <p class="muted">
        Found with <code>recall</code>, the same search your agents use, over{" "}
        {filters.project ? `project ${filters.project}` : "every project"}.
      </p>
      {result.note ? <p class="muted">{result.note}</p> : null}
      {result.hits.length === 0 ? (
        <p role="status">
          Nothing matched.
          {result.otherProjects && result.otherProjects.length > 0
            ? ` Other projects have matches: ${result.otherProjects.join(", ")}.`
            : ""}
        </p>
      ) : (
        <ol class="memories hits">
          {result.hits.map(({ hit, matched }) => (
            <li data-id={hit.id}>
              <div>
                <a class="memory-title" href={`/app/memories/${hit.id}`}>
                  {title(hit)}
                </a>
                <p class="excerpt">{hit.snippet}</p>
                <p class="muted">
                  <span class="badge">{hit.kind}</span> {hit.project} · {shortTime(hit.updatedAt)}
                </p>
                <WhyMatched hit={hit} matched={matched} />
              </div>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

export function MemoriesPage(props: {
  viewer: Viewer;
  filters: MemoryFilters;
  counts: MemoryCounts;
  page?: { memories: BrowsedMemory[]; nextCursor: string | null; first: boolean } | null;
  search?: SearchResult | null;
  notice?: string | null;
  error?: string | null;
  /** Newest change shown (ms), from which the page's script asks for newer ones. */
  liveSince: number;
}) {
  const { viewer, filters, page } = props;
  const back = memoriesHref(filters);
  // Live updates only where new memories belong: the first page of current memories, not a search.
  const live = page?.first && filters.status === "active" && !filters.q;
  return (
    <Layout title="Memories" viewer={viewer} section="memories" wide>
      <h1>Memories</h1>
      <MemoryTabs current="memories" />
      <Notice message={props.notice} />
      <FormError message={props.error} />
      <Counts counts={props.counts} filters={filters} />
      <Filters filters={filters} counts={props.counts} />
      {props.search ? <SearchHits result={props.search} filters={filters} /> : null}
      {page ? (
        <section aria-labelledby="list-heading">
          <h2 id="list-heading">{filters.status === "forgotten" ? "Forgotten memories" : "Newest first"}</h2>
          {live ? (
            <p
              class="muted live"
              data-live={`/app/memories/live?${new URLSearchParams(
                Object.entries({
                  since: String(props.liveSince),
                  project: filters.project,
                  kind: filters.kind,
                  tag: filters.tag,
                }).filter(([, value]) => value),
              )}`}
              aria-live="polite"
            >
              New memories appear here as your agents save them.
            </p>
          ) : null}
          {page.memories.length === 0 ? <p role="status">No memories match these filters.</p> : null}
          <MemoryRows memories={page.memories} />
          {page.memories.length > 0 ? <BulkForm csrf={viewer.csrf} status={filters.status} back={back} /> : null}
          <div class="actions">
            {page.first ? null : <a href={memoriesHref({ ...filters, q: "" })}>Newest</a>}
            {page.nextCursor ? (
              <a class="button secondary" href={memoriesHref({ ...filters, q: "", cursor: page.nextCursor })}>
                Older memories
              </a>
            ) : null}
          </div>
        </section>
      ) : null}
    </Layout>
  );
}
