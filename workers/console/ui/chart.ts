import { raw } from "hono/html";
import { escapeToBuffer, type HtmlEscapedString } from "hono/utils/html";

/**
 * Charts drawn on the server as SVG: no script, nothing loaded from
 * anywhere, and colours from the stylesheet (classes `c0`…`c5`), so they
 * follow the colour scheme and the CSP (no inline styles). Each chart is an
 * image with an accessible name and a summary, every bar or point has a
 * tooltip, and a table with the same numbers follows it.
 *
 * Written as strings rather than JSX: 30 days of bars, points and table
 * cells are over a thousand elements, and the same markup built by JSX took
 * 1.3 to 1.8 ms per view against 0.46 to 0.6 ms here (Node, the three charts
 * of 30 days of eight tools; the whole page: `bench/usage-render.ts`).
 * Escaping is enforced by the types: `markup` takes only
 * numbers and `Markup`, and the one way to make `Markup` from a string is
 * `escaped`, so a series name (a tool name a client chose) cannot reach the
 * page unescaped.
 */
export interface ChartSeries {
  name: string;
  values: (number | null)[];
}

interface ChartProps {
  id: string;
  title: string;
  /** What the values are, for the summary and the table's header ("tool calls", "ms"). */
  unit: string;
  days: string[];
  series: ChartSeries[];
  /** Colour index per series, when the order carries meaning (status classes: green, blue, amber, red). */
  palette?: number[];
}

const colourOf = (palette: number[] | undefined, position: number) => `c${(palette?.[position] ?? position) % COLOURS}`;

const WIDTH = 720;
const RIGHT = 24;
const HEIGHT = 200;
const LEFT = 44;
const BOTTOM = 22;
const TOP = 8;
const PLOT_H = HEIGHT - BOTTOM - TOP;
const COLOURS = 6;

const shortDay = (day: string) => escaped(day.slice(5));

/** A round top for the axis whose half is a whole number too: 2, 4 or 10 times a power of ten. */
function niceMax(value: number): number {
  if (value <= 2) return 2;
  const power = 10 ** Math.floor(Math.log10(value));
  return ([2, 4, 10, 20].find((step) => step * power >= value) ?? 20) * power;
}

function total(series: ChartSeries[]): number {
  return series.reduce((sum, entry) => sum + entry.values.reduce<number>((s, v) => s + (v ?? 0), 0), 0);
}

/** Text that is safe to put in the page: made only by `escaped` and `markup`. */
declare const safe: unique symbol;
type Markup = string & { readonly [safe]: true };

/** A string as element text or an attribute value (both quoted with `"`), by the escaper hono's JSX uses. */
function escaped(text: string): Markup {
  const buffer: [string] = [""];
  escapeToBuffer(text, buffer);
  return buffer[0] as Markup;
}

type Part = Markup | number | null;

/** A template of markup: numbers are written as they are, markup as it is, lists joined, null left out. */
function markup(strings: TemplateStringsArray, ...parts: (Part | readonly Part[])[]): Markup {
  let out = strings[0] as string;
  for (let index = 0; index < parts.length; index++) {
    const part = parts[index];
    if (Array.isArray(part)) out += part.join("");
    else if (part !== null) out += part;
    out += strings[index + 1];
  }
  return out as Markup;
}

/** A coordinate to a tenth of a unit: the viewBox is 720 wide, so nothing visible is lost, and bytes are. */
const at = (value: number) => Math.round(value * 10) / 10;

function axis(max: number, days: readonly string[], step: number): Markup {
  const lines = [0, 0.5, 1].map((share) => {
    const y = at(TOP + PLOT_H - share * PLOT_H);
    return markup`<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${y}" y2="${y}"></line><text x="${LEFT - 6}" y="${y + 4}" text-anchor="end">${Math.round(max * share)}</text>`;
  });
  const labels = days.map((day, index) =>
    index % 5 === days.length % 5 || index === days.length - 1
      ? markup`<text x="${at(LEFT + (index + 0.5) * step)}" y="${HEIGHT - 6}" text-anchor="middle">${shortDay(day)}</text>`
      : null,
  );
  return markup`<g class="axis">${lines}${labels}</g>`;
}

/** A chart's strings, escaped once: its days and series names appear on every bar, point and row. */
interface Escaped {
  id: Markup;
  title: Markup;
  unit: Markup;
  days: Markup[];
  names: Markup[];
  colours: Markup[];
}

function escapedOf(props: ChartProps): Escaped {
  return {
    id: escaped(props.id),
    title: escaped(props.title),
    unit: escaped(props.unit),
    days: props.days.map(escaped),
    names: props.series.map((entry) => escaped(entry.name)),
    colours: props.series.map((_, position) => escaped(colourOf(props.palette, position))),
  };
}

function legend(text: Escaped): Markup {
  const items = text.names.map(
    (name, index) => markup`<li><span class="swatch ${text.colours[index] ?? null}"></span>${name}</li>`,
  );
  return markup`<ul class="legend" aria-hidden="true">${items}</ul>`;
}

function dataTable(props: ChartProps, text: Escaped): Markup {
  const shown = props.days
    .map((_, index) => index)
    .filter((index) => props.series.some((entry) => (entry.values[index] ?? 0) !== 0));
  const summary = markup`<summary>Table: ${escaped(props.title.toLowerCase())}</summary>`;
  if (shown.length === 0) {
    return markup`<details class="chart-table">${summary}<p class="muted">Nothing in these days.</p></details>`;
  }
  const head = text.names.map((name) => markup`<th scope="col">${name}</th>`);
  const rows = shown.map(
    (index) =>
      markup`<tr><th scope="row">${text.days[index] ?? null}</th>${props.series.map((entry) => {
        const value = entry.values[index];
        return value === null ? markup`<td>—</td>` : markup`<td>${value ?? null}</td>`;
      })}</tr>`,
  );
  return markup`<details class="chart-table">${summary}<table id="${text.id}-table"><caption>${text.title} (${text.unit}), days with any</caption><thead><tr><th scope="col">Day (UTC)</th>${head}</tr></thead><tbody>${rows}</tbody></table></details>`;
}

function frame(props: ChartProps, text: Escaped, summary: string, plot: Markup[]): HtmlEscapedString {
  const { id, title } = text;
  return raw(
    markup`<figure class="chart" id="${id}"><figcaption>${title}</figcaption><svg viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="${id}-title ${id}-desc"><title id="${id}-title">${title}</title><desc id="${id}-desc">${escaped(summary)}</desc>${plot}</svg>${legend(text)}${dataTable(props, text)}</figure>`,
  );
}

/** Stacked bars, one per day: counts by series (tool, status class). */
export function BarChart(props: ChartProps): HtmlEscapedString {
  const text = escapedOf(props);
  const step = (WIDTH - LEFT - RIGHT) / Math.max(1, props.days.length);
  const dayTotals = props.days.map((_, index) =>
    props.series.reduce((sum, entry) => sum + (entry.values[index] ?? 0), 0),
  );
  const max = niceMax(Math.max(0, ...dayTotals));
  const sum = total(props.series);
  const summary = `${sum} ${props.unit} over the last ${props.days.length} days; the busiest day had ${Math.max(0, ...dayTotals)}.`;
  const width = at(step * 0.7);
  const bars = text.days.map((day, index) => {
    let base = TOP + PLOT_H;
    const x = at(LEFT + index * step + step * 0.15);
    const stack = props.series.map((entry, position) => {
      const value = entry.values[index] ?? 0;
      if (value === 0) return null;
      const height = (value / max) * PLOT_H;
      base -= height;
      const name = text.names[position] ?? null;
      return markup`<rect class="${text.colours[position] ?? null}" x="${x}" y="${at(base)}" width="${width}" height="${at(Math.max(height, 1))}" data-day="${day}" data-series="${name}" data-value="${value}"><title>${day}: ${name} ${value}</title></rect>`;
    });
    return markup`<g>${stack}</g>`;
  });
  return frame(props, text, summary, [axis(max, props.days, step), ...bars]);
}

/** Lines, one per series (p50, p95), with a point for every day that has a value. */
export function LineChart(props: ChartProps): HtmlEscapedString {
  const text = escapedOf(props);
  const step = (WIDTH - LEFT - RIGHT) / Math.max(1, props.days.length);
  const values = props.series.flatMap((entry) => entry.values.filter((v): v is number => v !== null));
  const max = niceMax(Math.max(0, ...values));
  const x = (index: number) => at(LEFT + (index + 0.5) * step);
  const y = (value: number) => at(TOP + PLOT_H - (value / max) * PLOT_H);
  const summary =
    values.length === 0
      ? `No requests in the last ${props.days.length} days.`
      : `${props.series.map((entry) => `${entry.name} up to ${Math.max(0, ...entry.values.map((v) => v ?? 0))} ${props.unit}`).join(", ")} over the last ${props.days.length} days.`;
  const lines = props.series.map((entry, position) => {
    const name = text.names[position] ?? null;
    const points = entry.values
      .map((value, index) => (value === null ? null : `${x(index)},${y(value)}`))
      .filter((point): point is string => point !== null);
    const dots = entry.values.map((value, index) => {
      if (value === null) return null;
      const day = text.days[index] ?? null;
      return markup`<circle cx="${x(index)}" cy="${y(value)}" r="3" data-day="${day}" data-value="${value}"><title>${day}: ${name} ${value} ${text.unit}</title></circle>`;
    });
    const line = points.length > 1 ? markup`<polyline points="${escaped(points.join(" "))}"></polyline>` : null;
    return markup`<g class="line ${text.colours[position] ?? null}">${line}${dots}</g>`;
  });
  return frame(props, text, summary, [axis(max, props.days, step), ...lines]);
}
