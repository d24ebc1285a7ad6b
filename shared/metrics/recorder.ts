import { DURATION_BUCKETS, METRICS, type MetricName } from "./definitions";

export type Labels = Record<string, string | number>;

/** One change to ship to the aggregator: `add` sums across isolates, `set` overwrites. */
export interface MetricDelta {
  op: "add" | "set";
  /** Series key in exposition form: `name{label="value",...}`. */
  series: string;
  value: number;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** `name{a="1",b="2"}` with labels sorted, so the same series always has the same key. */
export function seriesKey(name: string, labels: Labels = {}): string {
  const parts = Object.keys(labels)
    .sort()
    .map((key) => `${key}="${escapeLabel(String(labels[key]))}"`);
  return parts.length === 0 ? name : `${name}{${parts.join(",")}}`;
}

function declared(name: MetricName, type: string): void {
  if (METRICS[name].type !== type) throw new Error(`metric ${name} is a ${METRICS[name].type}, not a ${type}`);
}

/**
 * Accumulates metric changes in memory until they are drained and shipped to
 * the aggregating Durable Object; many requests' increments to the same
 * series collapse into one delta.
 */
export class MetricsRecorder {
  readonly #adds = new Map<string, number>();
  readonly #sets = new Map<string, number>();

  inc(name: MetricName, labels?: Labels, value = 1): void {
    declared(name, "counter");
    this.#add(seriesKey(name, labels), value);
  }

  set(name: MetricName, labels: Labels | undefined, value: number): void {
    declared(name, "gauge");
    this.#sets.set(seriesKey(name, labels), value);
  }

  observe(name: MetricName, labels: Labels, seconds: number): void {
    declared(name, "histogram");
    for (const le of DURATION_BUCKETS) {
      if (seconds <= le) this.#add(seriesKey(`${name}_bucket`, { ...labels, le }), 1);
    }
    this.#add(seriesKey(`${name}_bucket`, { ...labels, le: "+Inf" }), 1);
    this.#add(seriesKey(`${name}_sum`, labels), seconds);
    this.#add(seriesKey(`${name}_count`, labels), 1);
  }

  get pending(): number {
    return this.#adds.size + this.#sets.size;
  }

  drain(): MetricDelta[] {
    const deltas: MetricDelta[] = [];
    for (const [series, value] of this.#adds) deltas.push({ op: "add", series, value });
    for (const [series, value] of this.#sets) deltas.push({ op: "set", series, value });
    this.#adds.clear();
    this.#sets.clear();
    return deltas;
  }

  /** Put deltas back after a failed shipment so nothing is lost. */
  restore(deltas: MetricDelta[]): void {
    for (const delta of deltas) {
      if (delta.op === "add") this.#add(delta.series, delta.value);
      else if (!this.#sets.has(delta.series)) this.#sets.set(delta.series, delta.value);
    }
  }

  #add(series: string, value: number): void {
    this.#adds.set(series, (this.#adds.get(series) ?? 0) + value);
  }
}

/** A batch of deltas folded so each series appears once: what to add, and what to set. */
export interface FoldedDeltas {
  adds: Record<string, number>;
  sets: Record<string, number>;
}

/**
 * Fold deltas, in order, into at most one change per series with the same
 * result as applying them one by one: adds sum, a set replaces whatever came
 * before it, and an add after a set moves the set. A series ends in `adds` or
 * `sets`, never both, so the two can be applied in either order.
 */
export function foldDeltas(deltas: readonly MetricDelta[]): FoldedDeltas {
  const adds = new Map<string, number>();
  const sets = new Map<string, number>();
  for (const { op, series, value } of deltas) {
    if (op === "set") {
      adds.delete(series);
      sets.set(series, value);
    } else if (sets.has(series)) sets.set(series, (sets.get(series) as number) + value);
    else adds.set(series, (adds.get(series) ?? 0) + value);
  }
  return { adds: Object.fromEntries(adds), sets: Object.fromEntries(sets) };
}
