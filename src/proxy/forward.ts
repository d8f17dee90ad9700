/**
 * Forwards HTTP requests to the upstream with undici. Bodies stream in both
 * directions (never buffered); the response is written straight into the
 * client's ServerResponse by `dispatcher.stream`. Measured against
 * http-proxy-3 for plain HTTP, undici's pool is about twice as fast (see
 * bench/), so it carries HTTP; websockets go through http-proxy-3
 * (./websocket.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
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
      // Long downloads and slow streams are legitimate; the socket timeout below guards idleness.
      bodyTimeout: 0,
    });
    this.policy = policy;
    this.timeoutMs = upstream.timeoutMs;
  }

  /**
   * Sends `req` upstream and streams the answer into `res`. Calls `onFailure`
   * only while no response has started; afterwards a failure just ends the
   * client connection (the status line is already out).
   */
  forward(
    req: IncomingMessage,
    res: ServerResponse,
    context: ForwardContext,
    onFailure: ForwardFailure,
  ): void {
    const headers = upstreamRequestHeaders(req, this.policy, context);
    const hasBody =
      req.headers['content-length'] !== undefined
        ? req.headers['content-length'] !== '0'
        : req.headers['transfer-encoding'] !== undefined;
    const abort = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    this.pool
      .stream(
        {
          path: req.url ?? '/',
          method: req.method ?? 'GET',
          headers,
          body: hasBody ? req : null,
          signal: abort.signal,
          headersTimeout: this.timeoutMs,
        },
        ({ statusCode, headers: upstreamHeaders }) => {
          res.writeHead(statusCode, downstreamResponseHeaders(upstreamHeaders));
          return res;
        },
      )
      .catch((error: unknown) => {
        if (abort.signal.aborted) return; // the client went away; nothing to tell anyone
        if (res.headersSent) {
          res.destroy();
          return;
        }
        onFailure(
          new SlussError(
            'ERR_UPSTREAM_UNAVAILABLE',
            'The application behind this sign-in is not responding. Try again shortly.',
            {
              cause: error,
            },
          ),
        );
      });
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
