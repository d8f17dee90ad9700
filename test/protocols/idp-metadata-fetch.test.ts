import type { Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchMetadataText } from '../../src/protocols/saml/idp-metadata.ts';

const CHUNK = Buffer.alloc(64 * 1024, 'a');
/** Bounded: a "never-ending" response stops after this many bytes even if nobody cancels. */
const ENDLESS_LIMIT = 16 * 1024 * 1024;

function writeUntil(res: ServerResponse, limit: number): void {
  let sent = 0;
  const pump = (): void => {
    while (sent < limit && !res.destroyed) {
      sent += CHUNK.length;
      if (!res.write(CHUNK)) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

describe('fetchMetadataText: size-capped while reading', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/small') return void res.end('<EntityDescriptor/>');
      if (req.url === '/declared-huge') {
        res.writeHead(200, { 'content-length': String(ENDLESS_LIMIT) });
        return writeUntil(res, ENDLESS_LIMIT);
      }
      // Chunked, no content-length: the size is only known by counting.
      writeUntil(res, ENDLESS_LIMIT);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('returns a small document', async () => {
    expect(await fetchMetadataText(`${base}/small`)).toBe('<EntityDescriptor/>');
  });

  it.each([
    ['a declared content-length over 1 MiB', '/declared-huge'],
    ['an endless chunked body without a length', '/endless'],
  ])('refuses %s', async (_attack, path) => {
    await expect(fetchMetadataText(`${base}${path}`)).rejects.toThrow(/larger than 1048576 bytes/);
  });
});
