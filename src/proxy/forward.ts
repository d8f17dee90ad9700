/**
 * Forwards HTTP requests to the upstream with undici. Bodies stream in both
 * directions (never buffered); the response is written straight into the
 * client's ServerResponse. Measured against http-proxy-3 for plain HTTP,
 * undici's pool is about twice as fast (see bench/), so it carries HTTP;
 * websockets go through http-proxy-3 (./websocket.ts).
 *
 * This is the per-request hot path, so it talks to the pool with
 * `dispatch()` and one small handler object instead of `pool.stream()`: no
 * promise, no AbortController (a client that goes away aborts the upstream
 * request through the dispatch controller), no async-resource bookkeeping, and
 * the `res` listeners are shared functions rather than per-request closures.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { Pool } from 'undici';
import { SlussError } from '../errors.ts';
import type { ForwardContext, HeaderPolicy } from './header-hygiene.ts';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './header-hygiene.ts';

export interface UpstreamOptions {
  readonly origin: string;
  readonly timeoutMs: number;
  readonly connections?: number;
}

export type ForwardFailure = (error: SlussError) => void;

type Controller = Dispatcher.DispatchController;

/** Where a response's handler is kept on its ServerResponse, for the shared listeners below. */
const HANDLER = Symbol('sluss.forward');
type TrackedResponse = ServerResponse & { [HANDLER]?: ForwardHandler };

/**
 * One forwarded request: relays the upstream response into `res`, with
 * backpressure, and aborts the upstream request when the client goes away
 * before the response is complete.
 */
class ForwardHandler implements Dispatcher.DispatchHandler {
  private readonly res: TrackedResponse;
  private readonly body: IncomingMessage | null;
  private readonly onFailure: ForwardFailure;
  private readonly setCookies: readonly string[] | undefined;
  private controller: Controller | null = null;
  /** The client closed before the whole response was written. */
  clientGone = false;
  done = false;

  constructor(
    res: TrackedResponse,
    body: IncomingMessage | null,
    onFailure: ForwardFailure,
    setCookies: readonly string[] | undefined,
  ) {
    this.res = res;
    this.body = body;
    this.onFailure = onFailure;
    this.setCookies = setCookies;
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    if (this.clientGone) controller.abort(clientGoneError());
  }

  onResponseStart(controller: Controller, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // 1xx interim responses are not relayed
    const { res } = this;
    const out = downstreamResponseHeaders(headers);
    if (this.setCookies) out['set-cookie'] = [...toList(out['set-cookie']), ...this.setCookies];
    res.writeHead(statusCode, out);
    if (res.writableNeedDrain) waitForDrain(res, controller);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    const { res } = this;
    if (!res.write(chunk)) waitForDrain(res, controller);
  }

  onResponseEnd(): void {
    this.done = true;
    this.res.end();
  }

  onResponseError(_controller: Controller | null, error: Error): void {
    if (this.done) return;
    this.done = true;
    const { res, body } = this;
    // Like undici's stream(): drop the request body, detached from the socket so the reply can still go out.
    if (body !== null && !body.destroyed) {
      (body as { socket: unknown }).socket = null;
      body.destroy(error);
    }
    if (this.clientGone) return; // the client went away; nothing to tell anyone
    if (res.headersSent) {
      res.destroy();
      return;
    }
    this.onFailure(
      new SlussError(
        'ERR_UPSTREAM_UNAVAILABLE',
        'The application behind this sign-in is not responding. Try again shortly.',
        { cause: error },
      ),
    );
  }

  /** `res` closed (finished, or the client disconnected). */
  closed(): void {
    if (this.res.writableFinished || this.done) return;
    this.clientGone = true;
    this.controller?.abort(clientGoneError());
  }

  /** `res` failed; treat it like a disconnect. */
  failed(): void {
    if (this.done) return;
    this.clientGone = true;
    this.controller?.abort(clientGoneError());
  }
}

function toList(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function clientGoneError(): Error {
  return new Error('client closed the connection');
}

// Shared listeners: `this` is the ServerResponse they are registered on.
function onResponseClose(this: TrackedResponse): void {
  this[HANDLER]?.closed();
}
function onResponseError(this: TrackedResponse): void {
  this[HANDLER]?.failed();
}

function waitForDrain(res: ServerResponse, controller: Controller): void {
  controller.pause();
  res.once('drain', () => controller.resume());
}

export class Forwarder {
  private readonly pool: Pool;
  private readonly policy: HeaderPolicy;
  private readonly timeoutMs: number;

  constructor(upstream: UpstreamOptions, policy: HeaderPolicy) {
    this.pool = new Pool(upstream.origin, {
      connections: upstream.connections ?? 128,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: upstream.timeoutMs,
      // Long downloads and event streams are legitimate, so no body timeout; headersTimeout bounds the wait for a response.
      bodyTimeout: 0,
    });
    this.policy = policy;
    this.timeoutMs = upstream.timeoutMs;
  }

  /**
   * Sends `req` upstream and streams the answer into `res`. Calls `onFailure`
   * only while no response has started; afterwards a failure just ends the
   * client connection (the status line is already out). `setCookies` are
   * sluss's own cookies to add to the upstream's response (a resealed session).
   */
  forward(
    req: IncomingMessage,
    res: ServerResponse,
    context: ForwardContext,
    onFailure: ForwardFailure,
    setCookies?: readonly string[],
  ): void {
    const headers = upstreamRequestHeaders(req, this.policy, context);
    const hasBody =
      req.headers['content-length'] !== undefined
        ? req.headers['content-length'] !== '0'
        : req.headers['transfer-encoding'] !== undefined;
    const body = hasBody ? req : null;
    const handler = new ForwardHandler(res, body, onFailure, setCookies);
    const tracked = res as TrackedResponse;
    tracked[HANDLER] = handler;
    res.on('close', onResponseClose);
    res.on('error', onResponseError);
    this.pool.dispatch(
      {
        path: req.url ?? '/',
        method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
        headers,
        body,
        headersTimeout: this.timeoutMs,
      },
      handler,
    );
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
