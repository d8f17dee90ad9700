/**
 * An upstream app for integration tests: it echoes what the proxy sent, streams uploads
 * and downloads without buffering (so 100 MB tests stay flat in memory), and echoes
 * websocket messages.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';

/** One request the upstream saw on `/echo…` or a websocket upgrade on `/ws`. */
export type RecordedRequest = {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  kind: 'http' | 'websocket';
};

export type RunningUpstream = {
  url: string;
  port: number;
  requests: RecordedRequest[];
  close(): Promise<void>;
};

const PATTERN = Buffer.alloc(64 * 1024, 0);
for (let i = 0; i < PATTERN.length; i++) PATTERN[i] = i % 251; // prime length: no accidental alignment

/** The first `n` bytes `GET /download?bytes=n` sends, for comparing small downloads. */
export function downloadPattern(n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i += PATTERN.length) PATTERN.copy(out, i, 0, Math.min(PATTERN.length, n - i));
  return out;
}

/** Starts the test upstream on 127.0.0.1, on a free port. */
export async function startUpstream(): Promise<RunningUpstream> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Duplex>();

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://upstream');
    if (url.pathname.startsWith('/echo')) {
      const record = { method: req.method ?? '', url: req.url ?? '', headers: req.headers };
      requests.push({ ...record, kind: 'http' });
      req.resume(); // drain any body so keep-alive works
      req.on('end', () => json(res, 200, record));
      return;
    }
    if (url.pathname === '/upload' && req.method === 'POST') {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      req.on('end', () => json(res, 200, { bytes, sha256: hash.digest('hex') }));
      req.on('error', () => res.destroy());
      return;
    }
    if (url.pathname === '/download' && (req.method === 'GET' || req.method === 'HEAD')) {
      const total = Number(url.searchParams.get('bytes') ?? '0');
      if (!Number.isSafeInteger(total) || total < 0) return json(res, 400, { error: 'bad bytes' });
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
      if (req.method === 'HEAD') return void res.end();
      streamPattern(res, total);
      return;
    }
    req.resume();
    json(res, 404, { error: 'not found' });
  });

  // noServer: we route upgrades ourselves so only /ws is a websocket endpoint.
  const wss = new WebSocketServer({ noServer: true });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://upstream').pathname !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    requests.push({
      method: req.method ?? 'GET',
      url: req.url ?? '',
      headers: req.headers,
      kind: 'websocket',
    });
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    async close() {
      for (const client of wss.clients) client.terminate();
      // Upgraded sockets are no longer tracked by the http server, so end them here.
      for (const socket of sockets) socket.destroy();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      wss.close();
      await closed;
    },
  };
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

// Writes `total` bytes of PATTERN, pausing on backpressure, so memory stays at one chunk.
function streamPattern(res: http.ServerResponse, total: number): void {
  let left = total;
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, PATTERN.length);
      left -= n;
      const ok = res.write(n === PATTERN.length ? PATTERN : PATTERN.subarray(0, n));
      if (!ok) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  res.on('close', () => {
    left = 0; // client went away: stop producing
  });
  pump();
}
