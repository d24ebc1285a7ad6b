/**
 * A small per-isolate TTL cache for verified credentials. A hit means a
 * healthy request costs no management-DB round trip; entries are also kept
 * past their freshness (up to `staleMs`) so that, while the management DB is
 * unreachable, recently seen tenants keep working.
 */
export interface CacheEntry<T> {
  value: T;
  verifiedAt: number;
}

export class CredentialCache<T> {
  readonly #entries = new Map<string, CacheEntry<T>>();

  constructor(
    readonly freshMs: number,
    readonly staleMs: number,
    readonly maxEntries = 10_000,
  ) {}

  /** A fresh entry, or undefined. */
  fresh(key: string, now = Date.now()): T | undefined {
    const entry = this.#entries.get(key);
    return entry && now - entry.verifiedAt < this.freshMs ? entry.value : undefined;
  }

  /** An entry still usable while the source of truth is down, or undefined. */
  stale(key: string, now = Date.now()): T | undefined {
    const entry = this.#entries.get(key);
    return entry && now - entry.verifiedAt < this.staleMs ? entry.value : undefined;
  }

  set(key: string, value: T, now = Date.now()): void {
    // Map keeps insertion order, so re-inserting makes this the newest entry
    // and the first key is always the oldest one to drop.
    this.#entries.delete(key);
    this.#entries.set(key, { value, verifiedAt: now });
    if (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Drop every entry whose value matches (revocation, when only the credential's id is known). */
  deleteWhere(matches: (value: T) => boolean): void {
    for (const [key, entry] of this.#entries) if (matches(entry.value)) this.#entries.delete(key);
  }
}
