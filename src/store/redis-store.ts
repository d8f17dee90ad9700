/**
 * The shared Store for many replicas: Redis through ioredis. Two connections:
 * one for commands, one in subscriber mode for the revocation channel.
 * Commands fail fast while Redis is unreachable (no offline queue), so a
 * request never waits on a reconnect; the revocation view decides what a
 * replica does meanwhile (grace, then fail closed).
 */
import { createHash } from 'node:crypto';
import type { RedisOptions } from 'ioredis';
import { Redis } from 'ioredis';
import type { Clock } from '../clock.ts';
import { epochSeconds } from '../clock.ts';
import type { BusStatus, RevocationEvent } from './revocation-bus.ts';
import { parseRevocationEvent, serializeRevocationEvent } from './revocation-bus.ts';
import type { SharedStore } from './store.ts';
import { ttlMillis } from './store.ts';

export interface RedisStoreOptions {
  /** `redis://[:password@]host:port[/db]` or `rediss://…` for TLS. */
  readonly url: string;
  readonly clock: Clock;
  /** Prepended to every key and to the channel, so several deployments can share one Redis. */
  readonly keyPrefix?: string;
  /** Reconnect backoff: first delay, doubled per attempt up to the maximum (each ±20 % jitter). */
  readonly reconnectMinDelayMs?: number;
  readonly reconnectMaxDelayMs?: number;
  readonly connectTimeoutMs?: number;
  /** A command without an answer after this long fails, and counts as Redis unavailable. */
  readonly commandTimeoutMs?: number;
  /** Connection errors (refused, reset, timeouts), for logging; they are expected during outages. */
  readonly onError?: (error: Error) => void;
}

/** Adds a member and keeps the longer of the set's remaining and requested lifetime (works before Redis 7's EXPIRE GT). */
const ADD_TO_SET = `
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1`;

/**
 * Persists a revocation in a sorted set scored by `until`, trims what has
 * expired, lets the set itself expire with its last entry, and publishes, in
 * one atomic step: a subscriber that loads the snapshot after subscribing
 * misses nothing.
 */
const PUBLISH_REVOCATION = `
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then redis.call('EXPIREAT', KEYS[1], math.floor(tonumber(last[2])) + 1) end
return redis.call('PUBLISH', ARGV[4], ARGV[1])`;

interface Script {
  readonly source: string;
  readonly sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

const SCRIPTS = { addToSet: script(ADD_TO_SET), publishRevocation: script(PUBLISH_REVOCATION) };

function backoff(attempt: number, minMs: number, maxMs: number): number {
  const delay = Math.min(maxMs, minMs * 2 ** Math.min(attempt - 1, 20));
  return Math.round(delay * (0.8 + Math.random() * 0.4));
}

export class RedisStore implements SharedStore {
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly clock: Clock;
  private readonly prefix: string;
  private readonly channel: string;
  private readonly handlers = new Set<(event: RevocationEvent) => void>();
  private readonly statusListeners = new Set<(status: BusStatus) => void>();
  private commandsReady = false;
  private subscribed = false;
  private status: BusStatus = 'down';
  private closed = false;

  constructor(options: RedisStoreOptions) {
    this.clock = options.clock;
    this.prefix = options.keyPrefix ?? 'sluss:';
    this.channel = `${this.prefix}revocations`;
    const minDelay = options.reconnectMinDelayMs ?? 50;
    const maxDelay = options.reconnectMaxDelayMs ?? 2000;
    const connection: RedisOptions = {
      // Fail fast: while disconnected a command rejects at once instead of queueing.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: options.connectTimeoutMs ?? 2000,
      commandTimeout: options.commandTimeoutMs ?? 1000,
      retryStrategy: (attempt) => backoff(attempt, minDelay, maxDelay),
      // We resubscribe ourselves on 'ready', so "up" means the subscription is live.
      autoResubscribe: false,
    };
    const onError = options.onError ?? (() => {});
    this.redis = new Redis(options.url, { ...connection, connectionName: 'sluss' });
    this.subscriber = new Redis(options.url, { ...connection, connectionName: 'sluss-sub' });
    this.redis.on('error', onError);
    this.subscriber.on('error', onError);

    this.redis.on('ready', () => {
      this.commandsReady = true;
      this.updateStatus();
    });
    this.subscriber.on('ready', () => {
      this.subscriber.subscribe(this.channel).then(
        () => {
          this.subscribed = true;
          this.updateStatus();
        },
        // The connection dropped again; its next 'ready' subscribes again.
        (error: unknown) => onError(error instanceof Error ? error : new Error(String(error))),
      );
    });
    for (const event of ['close', 'end', 'reconnecting'] as const) {
      this.redis.on(event, () => {
        this.commandsReady = false;
        this.updateStatus();
      });
      this.subscriber.on(event, () => {
        this.subscribed = false;
        this.updateStatus();
      });
    }
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const event = parseRevocationEvent(message);
      if (!event) return;
      for (const handler of [...this.handlers]) handler(event);
    });
  }

  private updateStatus(): void {
    const next: BusStatus = this.commandsReady && this.subscribed && !this.closed ? 'up' : 'down';
    if (next === this.status) return;
    this.status = next;
    for (const listener of [...this.statusListeners]) listener(next);
  }

  private key(key: string): string {
    return this.prefix + key;
  }

  private async run(s: Script, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await this.redis.evalsha(s.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.redis.eval(s.source, keys.length, ...keys, ...args);
    }
  }

  /** Resolves true once commands and the subscription are live, false after `timeoutMs`. */
  ready(timeoutMs: number): Promise<boolean> {
    if (this.status === 'up') return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        off();
        resolve(false);
      }, timeoutMs);
      const off = this.onStatusChange((status) => {
        if (status !== 'up') return;
        clearTimeout(timer);
        off();
        resolve(true);
      });
    });
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.redis.get(this.key(key))) ?? undefined;
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.key(key), value, 'PX', ttlMillis(ttlSeconds));
  }

  async delete(key: string): Promise<void> {
    await this.redis.del(this.key(key));
  }

  async addOnce(key: string, ttlSeconds: number): Promise<boolean> {
    return (await this.redis.set(this.key(key), '1', 'PX', ttlMillis(ttlSeconds), 'NX')) === 'OK';
  }

  async addToSet(key: string, member: string, ttlSeconds: number): Promise<void> {
    await this.run(SCRIPTS.addToSet, [this.key(key)], [member, ttlMillis(ttlSeconds)]);
  }

  async members(key: string): Promise<string[]> {
    return (await this.redis.smembers(this.key(key))).sort();
  }

  async publishRevocation(event: RevocationEvent): Promise<void> {
    await this.run(
      SCRIPTS.publishRevocation,
      [this.key('revocations')],
      [serializeRevocationEvent(event), event.until, epochSeconds(this.clock), this.channel],
    );
  }

  subscribeRevocations(handler: (event: RevocationEvent) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  async loadRevocations(): Promise<RevocationEvent[]> {
    const raw = await this.redis.zrangebyscore(this.key('revocations'), epochSeconds(this.clock), '+inf');
    return raw.flatMap((text) => {
      const event = parseRevocationEvent(text);
      return event ? [event] : [];
    });
  }

  async ping(): Promise<void> {
    if (this.status !== 'up') throw new Error(`redis is ${this.closed ? 'closed' : 'unavailable'}`);
    await Promise.all([this.redis.ping(), this.subscriber.ping()]);
  }

  onStatusChange(listener: (status: BusStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.updateStatus();
    this.handlers.clear();
    this.statusListeners.clear();
    await Promise.all([quit(this.redis), quit(this.subscriber)]);
  }
}

/** QUIT when connected (lets Redis finish what it has), then stop reconnecting either way. */
async function quit(connection: Redis): Promise<void> {
  try {
    if (connection.status === 'ready') await connection.quit();
  } catch {
    // Already gone: disconnect below is all that is left to do.
  } finally {
    connection.disconnect(false);
  }
}
