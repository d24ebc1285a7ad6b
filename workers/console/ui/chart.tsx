/** @jsxImportSource hono/jsx */

/**
 * Charts drawn on the server as SVG: no script, nothing loaded from
 * anywhere, and colours from the stylesheet (classes `c0`…`c5`), so they
 * follow the colour scheme and the CSP (no inline styles). Each chart is an
 * image with an accessible name and a summary, every bar or point has a
 * tooltip, and a table with the same numbers follows it.
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

const shortDay = (day: string) => day.slice(5);

/** A round top for the axis whose half is a whole number too: 2, 4 or 10 times a power of ten. */
function niceMax(value: number): number {
  if (value <= 2) return 2;
  const power = 10 ** Math.floor(Math.log10(value));
  return ([2, 4, 10, 20].find((step) => step * power >= value) ?? 20) * power;
}

function total(series: ChartSeries[]): number {
  return series.reduce((sum, entry) => sum + entry.values.reduce<number>((s, v) => s + (v ?? 0), 0), 0);
}

function Axis(props: { max: number; days: string[]; step: number }) {
  return (
    <g class="axis">
      {[0, 0.5, 1].map((share) => {
        const y = TOP + PLOT_H - share * PLOT_H;
        return (
          <>
            <line x1={LEFT} x2={WIDTH - RIGHT} y1={y} y2={y} />
            <text x={LEFT - 6} y={y + 4} text-anchor="end">
              {String(Math.round(props.max * share))}
            </text>
          </>
        );
      })}
      {props.days.map((day, index) =>
        index % 5 === props.days.length % 5 || index === props.days.length - 1 ? (
          <text x={LEFT + (index + 0.5) * props.step} y={HEIGHT - 6} text-anchor="middle">
            {shortDay(day)}
          </text>
        ) : null,
      )}
    </g>
  );
}

function Legend(props: { series: ChartSeries[]; palette?: number[] }) {
  return (
    <ul class="legend" aria-hidden="true">
      {props.series.map((entry, index) => (
        <li>
          <span class={`swatch ${colourOf(props.palette, index)}`} />
          {entry.name}
        </li>
      ))}
    </ul>
  );
}

function DataTable(props: ChartProps) {
  const shown = props.days
    .map((day, index) => ({ day, index }))
    .filter(({ index }) => props.series.some((entry) => (entry.values[index] ?? 0) !== 0));
  return (
    <details class="chart-table">
      <summary>Table: {props.title.toLowerCase()}</summary>
      {shown.length === 0 ? (
        <p class="muted">Nothing in these days.</p>
      ) : (
        <table id={`${props.id}-table`}>
          <caption>
            {props.title} ({props.unit}), days with any
          </caption>
          <thead>
            <tr>
              <th scope="col">Day (UTC)</th>
              {props.series.map((entry) => (
                <th scope="col">{entry.name}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {shown.map(({ day, index }) => (
              <tr>
                <th scope="row">{day}</th>
                {props.series.map((entry) => (
                  <td>{entry.values[index] === null ? "—" : String(entry.values[index])}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </details>
  );
}

function Frame(props: ChartProps & { summary: string; children: unknown }) {
  return (
    <figure class="chart" id={props.id}>
      <figcaption>{props.title}</figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-labelledby={`${props.id}-title ${props.id}-desc`}>
        <title id={`${props.id}-title`}>{props.title}</title>
        <desc id={`${props.id}-desc`}>{props.summary}</desc>
        {props.children}
      </svg>
      <Legend series={props.series} palette={props.palette} />
      <DataTable {...props} />
    </figure>
  );
}

/** Stacked bars, one per day: counts by series (tool, status class). */
export function BarChart(props: ChartProps) {
  const step = (WIDTH - LEFT - RIGHT) / Math.max(1, props.days.length);
  const dayTotals = props.days.map((_, index) =>
    props.series.reduce((sum, entry) => sum + (entry.values[index] ?? 0), 0),
  );
  const max = niceMax(Math.max(0, ...dayTotals));
  const sum = total(props.series);
  const summary = `${sum} ${props.unit} over the last ${props.days.length} days; the busiest day had ${Math.max(0, ...dayTotals)}.`;
  return (
    <Frame {...props} summary={summary}>
      <Axis max={max} days={props.days} step={step} />
      {props.days.map((day, index) => {
        let base = TOP + PLOT_H;
        return (
          <g>
            {props.series.map((entry, position) => {
              const value = entry.values[index] ?? 0;
              if (value === 0) return null;
              const height = (value / max) * PLOT_H;
              base -= height;
              return (
                <rect
                  class={colourOf(props.palette, position)}
                  x={LEFT + index * step + step * 0.15}
                  y={base}
                  width={step * 0.7}
                  height={Math.max(height, 1)}
                  data-day={day}
                  data-series={entry.name}
                  data-value={value}
                >
                  <title>{`${day}: ${entry.name} ${value}`}</title>
                </rect>
              );
            })}
          </g>
        );
      })}
    </Frame>
  );
}

/** Lines, one per series (p50, p95), with a point for every day that has a value. */
export function LineChart(props: ChartProps) {
  const step = (WIDTH - LEFT - RIGHT) / Math.max(1, props.days.length);
  const values = props.series.flatMap((entry) => entry.values.filter((v): v is number => v !== null));
  const max = niceMax(Math.max(0, ...values));
  const x = (index: number) => LEFT + (index + 0.5) * step;
  const y = (value: number) => TOP + PLOT_H - (value / max) * PLOT_H;
  const summary =
    values.length === 0
      ? `No requests in the last ${props.days.length} days.`
      : `${props.series.map((entry) => `${entry.name} up to ${Math.max(0, ...entry.values.map((v) => v ?? 0))} ${props.unit}`).join(", ")} over the last ${props.days.length} days.`;
  return (
    <Frame {...props} summary={summary}>
      <Axis max={max} days={props.days} step={step} />
      {props.series.map((entry, position) => {
        const points = entry.values
          .map((value, index) => (value === null ? null : `${x(index)},${y(value)}`))
          .filter((point): point is string => point !== null);
        return (
          <g class={`line ${colourOf(props.palette, position)}`}>
            {points.length > 1 ? <polyline points={points.join(" ")} /> : null}
            {entry.values.map((value, index) =>
              value === null ? null : (
                <circle cx={x(index)} cy={y(value)} r={3} data-day={props.days[index]} data-value={value}>
                  <title>{`${props.days[index]}: ${entry.name} ${value} ${props.unit}`}</title>
                </circle>
              ),
            )}
          </g>
        );
      })}
    </Frame>
  );
}
