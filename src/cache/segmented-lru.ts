/**
 * A map bounded by size whose entries must be met twice before a flood can no longer evict them,
 * for keys clients choose (query texts, hashes): `add` puts a new entry into probation (a quarter of
 * the bound), and `get` moves it to the protected part (the rest). Entries added once and never
 * asked for again only churn probation, whatever their number.
 */
import { LRUCache } from 'lru-cache';

export class SegmentedLru<V extends object | string> {
  private readonly probation: LRUCache<string, V>;
  private readonly protected: LRUCache<string, V>;

  constructor(maxSize: number, sizeOf: (value: V, key: string) => number) {
    const segment = (size: number) => new LRUCache<string, V>({ maxSize: size, sizeCalculation: sizeOf });
    const probationSize = Math.floor(maxSize / 4);
    this.probation = segment(probationSize);
    this.protected = segment(maxSize - probationSize);
  }

  /** Adds or replaces an entry where it is; a new one starts in probation. */
  add(key: string, value: V): void {
    if (this.protected.has(key)) this.protected.set(key, value);
    else this.probation.set(key, value);
  }

  /** The entry, if held; asking for one in probation protects it. */
  get(key: string): V | undefined {
    const value = this.protected.get(key);
    if (value !== undefined) return value;
    const once = this.probation.get(key);
    if (once === undefined) return undefined;
    this.probation.delete(key);
    this.protected.set(key, once);
    return once;
  }

  /** Size held (never above the bound). */
  size(): number {
    return this.probation.calculatedSize + this.protected.calculatedSize;
  }
}
