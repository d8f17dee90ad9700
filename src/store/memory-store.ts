/**
 * The in-process Store: correct for one replica and for tests. Expired
 * entries are dropped when read and by a periodic sweep.
 */
import type { Clock } from '../clock.ts';
import type { Store } from './store.ts';

interface Entry {
  value: string | Set<string>;
  expiresAt: number;
}

const SWEEP_INTERVAL_MS = 60_000;

export class MemoryStore implements Store {
  private readonly entries = new Map<string, Entry>();
  private readonly clock: Clock;
  private readonly sweeper: NodeJS.Timeout;

  constructor(clock: Clock) {
    this.clock = clock;
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= this.clock.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  async get(key: string): Promise<string | undefined> {
    const value = this.live(key)?.value;
    return typeof value === 'string' ? value : undefined;
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    this.entries.set(key, { value, expiresAt: this.clock.now() + ttlSeconds * 1000 });
  }

  async delete(key: string): Promise<void> {
    this.entries.delete(key);
  }

  async addOnce(key: string, ttlSeconds: number): Promise<boolean> {
    if (this.live(key)) return false;
    this.entries.set(key, { value: '1', expiresAt: this.clock.now() + ttlSeconds * 1000 });
    return true;
  }

  async addToSet(key: string, member: string, ttlSeconds: number): Promise<void> {
    const expiresAt = this.clock.now() + ttlSeconds * 1000;
    const entry = this.live(key);
    if (entry && entry.value instanceof Set) {
      entry.value.add(member);
      entry.expiresAt = Math.max(entry.expiresAt, expiresAt);
      return;
    }
    this.entries.set(key, { value: new Set([member]), expiresAt });
  }

  async members(key: string): Promise<string[]> {
    const value = this.live(key)?.value;
    return value instanceof Set ? [...value] : [];
  }

  sweep(): void {
    const now = this.clock.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.entries.clear();
  }
}
