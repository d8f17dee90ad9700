/**
 * The in-process Store: correct for one replica and for tests. Expired
 * entries are dropped when read and by a periodic sweep. Revocations are
 * delivered to subscribers in this process only.
 */
import type { Clock } from '../clock.ts';
import { epochSeconds } from '../clock.ts';
import type { BusStatus, RevocationEvent } from './revocation-bus.ts';
import { serializeRevocationEvent } from './revocation-bus.ts';
import type { SharedStore } from './store.ts';
import { ttlMillis } from './store.ts';

interface Entry {
  value: string | Set<string>;
  expiresAt: number;
}

const SWEEP_INTERVAL_MS = 60_000;

export class MemoryStore implements SharedStore {
  private readonly entries = new Map<string, Entry>();
  /** Revocations by their canonical form, so republishing one is a no-op. */
  private readonly revocations = new Map<string, RevocationEvent>();
  private readonly handlers = new Set<(event: RevocationEvent) => void>();
  private readonly clock: Clock;
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(clock: Clock) {
    this.clock = clock;
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  private open(): void {
    if (this.closed) throw new Error('store is closed');
  }

  private live(key: string): Entry | undefined {
    this.open();
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
    this.open();
    this.entries.set(key, { value, expiresAt: this.clock.now() + ttlMillis(ttlSeconds) });
  }

  async delete(key: string): Promise<void> {
    this.open();
    this.entries.delete(key);
  }

  async addOnce(key: string, ttlSeconds: number): Promise<boolean> {
    if (this.live(key)) return false;
    this.entries.set(key, { value: '1', expiresAt: this.clock.now() + ttlMillis(ttlSeconds) });
    return true;
  }

  async addToSet(key: string, member: string, ttlSeconds: number): Promise<void> {
    const expiresAt = this.clock.now() + ttlMillis(ttlSeconds);
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

  async publishRevocation(event: RevocationEvent): Promise<void> {
    this.open();
    this.revocations.set(serializeRevocationEvent(event), event);
    for (const handler of [...this.handlers]) handler(event);
  }

  subscribeRevocations(handler: (event: RevocationEvent) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  async loadRevocations(): Promise<RevocationEvent[]> {
    this.open();
    const now = epochSeconds(this.clock);
    return [...this.revocations.values()].filter((event) => event.until >= now);
  }

  async ping(): Promise<void> {
    this.open();
  }

  onStatusChange(_listener: (status: BusStatus) => void): () => void {
    return () => {};
  }

  sweep(): void {
    const now = this.clock.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
    const nowSeconds = epochSeconds(this.clock);
    for (const [key, event] of this.revocations) if (event.until < nowSeconds) this.revocations.delete(key);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    this.entries.clear();
    this.revocations.clear();
    this.handlers.clear();
  }
}
