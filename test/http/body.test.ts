import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BodyResult } from '../../src/http/body.ts';
import { readBoundedBody } from '../../src/http/body.ts';

const LIMIT = 1024;
const DEADLINE_MS = 300;

describe('readBoundedBody: size limit and deadline on bodies sluss reads itself', () => {
  let server: Server;
  let port: number;
  let nextResult: (result: BodyResult) => void = () => {};

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const result = await readBoundedBody(req, LIMIT, DEADLINE_MS);
      nextResult(result);
      if (!res.destroyed) res.end(result.ok ? `ok ${result.body.length}` : result.problem);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  function resultOfNextRequest(): Promise<BodyResult> {
    return new Promise((resolve) => {
      nextResult = resolve;
    });
  }

  /** Raw HTTP so a test controls exactly when (and whether) the body arrives. */
  function rawRequest(head: string, body: string): Socket {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(`POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\n${head}\r\n${body}`);
    return socket;
  }

  it('reads a complete body within the limit', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/x`, { method: 'POST', body: 'a'.repeat(LIMIT) });
    expect(await response.text()).toBe(`ok ${LIMIT}`);
  });

  it('refuses a declared Content-Length over the limit without reading it', async () => {
    const result = resultOfNextRequest();
    const socket = rawRequest(`Content-Length: ${LIMIT * 100}\r\n`, 'a');
    expect(await result).toEqual({ ok: false, problem: 'too-large' });
    socket.destroy();
  });

  it('refuses a chunked body that grows past the limit', async () => {
    const result = resultOfNextRequest();
    const chunk = 'a'.repeat(600);
    const body = `${chunk.length.toString(16)}\r\n${chunk}\r\n`.repeat(3);
    const socket = rawRequest('Transfer-Encoding: chunked\r\n', body);
    expect(await result).toEqual({ ok: false, problem: 'too-large' });
    socket.destroy();
  });

  it('slowloris: a body that stops arriving is abandoned at the deadline and the connection closed', async () => {
    const result = resultOfNextRequest();
    const socket = rawRequest('Content-Length: 100\r\n', 'only ten b');
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    expect(await result).toEqual({ ok: false, problem: 'too-slow' });
    await closed;
    expect(socket.destroyed).toBe(true);
  });
});
