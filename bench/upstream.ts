/**
 * The upstream every bench target proxies to: a minimal node:http server returning a
 * fixed 1 KiB body, keep-alive on. One extra path, `/__bench/headers`, answers
 * with the request headers it received as JSON, so the runner can check once
 * (outside the measured runs) what a proxy passes on. It runs in its own process so that its event loop
 * does not compete with the proxy under test.
 *
 *   node bench/upstream.ts [--port 0]
 */
import { createServer } from 'node:http';
import { arg, HEADER_ECHO_PATH, listenAndReport } from './child-ipc.ts';

const BODY = Buffer.alloc(1024, 'x');
const HEADERS = {
  'content-type': 'text/plain; charset=utf-8',
  'content-length': String(BODY.length),
  'cache-control': 'no-store',
};

const server = createServer((req, res) => {
  // Drain any request body so keep-alive connections stay usable.
  req.resume();
  if (req.url === HEADER_ECHO_PATH) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(req.headers));
    return;
  }
  res.writeHead(200, HEADERS);
  res.end(BODY);
});
server.keepAliveTimeout = 60_000;

await listenAndReport(server, '127.0.0.1', Number(arg('port', 'PORT', '0')));
