/**
 * Websocket upgrades, proxied with http-proxy-3 after the same header hygiene
 * as HTTP. Unauthenticated upgrades never get here: the pipeline answers them
 * with a 401 on the raw socket.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ProxyServer } from 'http-proxy-3';
import type { Logger } from 'pino';
import type { ForwardContext, HeaderPolicy } from './header-hygiene.ts';
import { headerListToObject, upstreamRequestHeaders } from './header-hygiene.ts';

export class WebsocketForwarder {
  private readonly proxy: ProxyServer;
  private readonly policy: HeaderPolicy;
  private readonly open = new Set<Duplex>();

  constructor(origin: string, policy: HeaderPolicy, log: Logger) {
    this.policy = policy;
    this.proxy = new ProxyServer({ target: origin, ws: true, xfwd: false, changeOrigin: false });
    this.proxy.on('error', (error, _req, socket) => {
      log.warn({ err: error }, 'websocket upstream error');
      if ('destroy' in socket) socket.destroy();
    });
  }

  forward(req: IncomingMessage, socket: Duplex, head: Buffer, context: ForwardContext): void {
    // Upgraded sockets are not the HTTP server's any more: track them so shutdown can close them.
    this.open.add(socket);
    socket.once('close', () => this.open.delete(socket));
    const headers = headerListToObject(upstreamRequestHeaders(req, this.policy, context));
    // The upgrade handshake itself is hop-by-hop but must reach the upstream.
    headers.connection = 'Upgrade';
    headers.upgrade = req.headers.upgrade;
    req.headers = headers;
    this.proxy.ws(req, socket, head);
  }

  /** Open websocket connections. */
  get size(): number {
    return this.open.size;
  }

  /** Ends every proxied websocket (at the end of the shutdown drain) and the proxy. */
  close(): void {
    for (const socket of this.open) socket.destroy();
    this.open.clear();
    this.proxy.close();
  }
}

/** Answers an upgrade request with a plain HTTP error and closes the socket. */
export function rejectUpgrade(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: code, message });
  const reason = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' }[status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\ncache-control: no-store\r\n\r\n${body}`,
  );
}
