/**
 * A child process's output kept for diagnosis: the last `limit` characters,
 * plus watchers that see every line as it arrives. The retained tail is for
 * error messages; a check over a whole run (the soak's "no uncaught error in
 * the log") must use a watcher, because a long run prints far more than is
 * kept.
 */
export interface LogWatch {
  /** Matching lines seen since the watch began (the first 100 kept in full). */
  matches(): string[];
  /** How many lines matched, including those past the first 100. */
  count(): number;
  stop(): void;
}

const KEPT_MATCHES = 100;

export class OutputLog {
  readonly #limit: number;
  readonly #chunks: string[] = [];
  #retained = 0;
  readonly #watchers = new Set<(chunk: string) => void>();

  constructor(limit = 2_000_000) {
    this.#limit = limit;
  }

  /**
   * Appending is O(chunk): whole chunks are dropped from the front once the
   * rest still covers the limit. (Re-slicing one big string per chunk copied
   * the whole 2 MB tail every time and slowed the benchmarks sharing this
   * process as the log grew.)
   */
  append(chunk: string): void {
    this.#chunks.push(chunk);
    this.#retained += chunk.length;
    while (this.#chunks.length > 1 && this.#retained - (this.#chunks[0]?.length ?? 0) >= this.#limit) {
      this.#retained -= this.#chunks.shift()?.length ?? 0;
    }
    for (const watcher of this.#watchers) watcher(chunk);
  }

  /** The last `limit` characters. */
  text(): string {
    return this.#chunks.join("").slice(-this.#limit);
  }

  /** Watch every complete line from now on for any of `patterns`. */
  watch(patterns: RegExp[]): LogWatch {
    const kept: string[] = [];
    let count = 0;
    let partial = "";
    const test = (line: string) => {
      if (!patterns.some((pattern) => pattern.test(line))) return;
      count += 1;
      if (kept.length < KEPT_MATCHES) kept.push(line);
    };
    const watcher = (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) test(line);
    };
    this.#watchers.add(watcher);
    const flush = () => {
      if (partial) test(partial);
      partial = "";
    };
    return {
      matches: () => {
        flush();
        return [...kept];
      },
      count: () => {
        flush();
        return count;
      },
      stop: () => {
        flush();
        this.#watchers.delete(watcher);
      },
    };
  }
}
