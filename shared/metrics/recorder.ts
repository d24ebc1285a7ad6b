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
  // Most values need no escape: one test instead of three replacements.
  if (!/[\\\n"]/.test(value)) return value;
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** `name{a="1",b="2"}` with labels sorted, so the same series always has the same key. */
export function seriesKey(name: string, labels: Labels = {}): string {
  const parts = Object.keys(labels)
    .sort()
    .map((key) => `${key}="${escapeLabel(String(labels[key]))}"`);
  return parts.length === 0 ? name : `${name}{${parts.join(",")}}`;
}

interface HistogramKeys {
  buckets: string[];
  inf: string;
  sum: string;
  count: string;
}

const MAX_HISTOGRAM_KEYS = 1000;

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
  readonly #keyCache = new Map<string, HistogramKeys>();

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
    const keys = this.#histogramKeys(name, labels);
    for (let index = 0; index < DURATION_BUCKETS.length; index++) {
      if (seconds <= (DURATION_BUCKETS[index] as number)) this.#add(keys.buckets[index] as string, 1);
    }
    this.#add(keys.inf, 1);
    this.#add(keys.sum, seconds);
    this.#add(keys.count, 1);
  }

  /**
   * A histogram's series keys for one label set, built once and kept: an
   * observation is made on every request and every database call, and
   * building its 14 keys (labels sorted and escaped each time) showed in the
   * Worker's CPU profile. Histogram labels are bounded (target, method,
   * route); the cache is emptied past `MAX_HISTOGRAM_KEYS` all the same.
   */
  #histogramKeys(name: MetricName, labels: Labels): HistogramKeys {
    const id = seriesKey(name, labels);
    let keys = this.#keyCache.get(id);
    if (!keys) {
      keys = {
        buckets: DURATION_BUCKETS.map((le) => seriesKey(`${name}_bucket`, { ...labels, le })),
        inf: seriesKey(`${name}_bucket`, { ...labels, le: "+Inf" }),
        sum: seriesKey(`${name}_sum`, labels),
        count: seriesKey(`${name}_count`, labels),
      };
      if (this.#keyCache.size >= MAX_HISTOGRAM_KEYS) this.#keyCache.clear();
      this.#keyCache.set(id, keys);
    }
    return keys;
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

/** One series' folded change: an amount to add, or a value to set, and when it last changed (epoch ms). */
export interface FoldedChange {
  op: "add" | "set";
  value: number;
  at: number;
}

/**
 * Deltas folded, in arrival order and across batches, into one change per
 * series with the same result as applying them one by one: adds sum, a set
 * replaces whatever came before it, and an add after a set moves the set.
 * A series ends as an add or as a set, never both, so the two kinds can be
 * written in either order.
 */
export class DeltaFold {
  readonly #changes = new Map<string, FoldedChange>();

  apply(deltas: readonly MetricDelta[], at: number): void {
    for (const { op, series, value } of deltas) {
      const held = this.#changes.get(series);
      if (op === "set" || !held) this.#changes.set(series, { op, value, at });
      else {
        held.value += value;
        held.at = at;
      }
    }
  }

  /** How many series have a change waiting. */
  get size(): number {
    return this.#changes.size;
  }

  /** The folded changes of one kind, as `[series, value, at]` rows. */
  rows(op: FoldedChange["op"]): [string, number, number][] {
    const rows: [string, number, number][] = [];
    for (const [series, change] of this.#changes) if (change.op === op) rows.push([series, change.value, change.at]);
    return rows;
  }

  /** The changes to the series `include` accepts. */
  entries(include: (series: string) => boolean): [string, FoldedChange][] {
    const entries: [string, FoldedChange][] = [];
    for (const [series, change] of this.#changes) if (include(series)) entries.push([series, { ...change }]);
    return entries;
  }

  clear(): void {
    this.#changes.clear();
  }
}
