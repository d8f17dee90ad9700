import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { ForwardContext, HeaderPolicy } from '../../src/proxy/header-hygiene.ts';
import {
  downstreamResponseHeaders,
  headerListToObject,
  trustedPeerList,
  upstreamRequestHeaders,
} from '../../src/proxy/header-hygiene.ts';

/** An IncomingMessage-like request: rawHeaders as sent, headers folded the way node:http does. */
function request(raw: [string, string][], peer = '203.0.113.7'): IncomingMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of raw) {
    const key = name.toLowerCase();
    const existing = headers[key];
    headers[key] = existing === undefined ? value : `${existing}${key === 'cookie' ? '; ' : ', '}${value}`;
  }
  return { rawHeaders: raw.flat(), headers, socket: { remoteAddress: peer } } as unknown as IncomingMessage;
}

function policy(overrides: Partial<HeaderPolicy> = {}): HeaderPolicy {
  return {
    stripped: new Set(['x-sluss-identity', 'x-remote-user', 'x-remote-email']),
    isSlussCookie: (name) => name === 'sluss' || name.startsWith('sluss.') || name.startsWith('sluss-txn-'),
    trustedPeers: trustedPeerList(['10.0.0.0/8', '192.168.1.5', 'fd00::/8']),
    preserveHost: true,
    isKnownHost: (host) => host === 'app.example.com' || host === 'alias.example.com',
    upstreamHost: '127.0.0.1:3000',
    ...overrides,
  };
}

const IDENTITY: ForwardContext['identity'] = [
  ['x-sluss-identity', 'signed.jwt.value'],
  ['x-remote-user', 'alice'],
];

const CONTEXT: ForwardContext = {
  forwardedProto: 'https',
  forwardedHost: 'app.example.com',
  identity: IDENTITY,
};

function pairs(list: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < list.length; i += 2) out.push([list[i] as string, list[i + 1] as string]);
  return out;
}

function forward(raw: [string, string][], options: { peer?: string; policy?: Partial<HeaderPolicy> } = {}) {
  return pairs(upstreamRequestHeaders(request(raw, options.peer), policy(options.policy), CONTEXT));
}

function valuesOf(list: [string, string][], name: string): string[] {
  return list.filter(([key]) => key === name).map(([, value]) => value);
}

describe('upstreamRequestHeaders strips forged identity headers', () => {
  it.each<[string, [string, string][]]>([
    ['exact spelling', [['X-Sluss-Identity', 'forged']]],
    ['lower case', [['x-sluss-identity', 'forged']]],
    ['upper case', [['X-SLUSS-IDENTITY', 'forged']]],
    ['underscores for dashes', [['X_Sluss_Identity', 'forged']]],
    ['mixed underscores and dashes', [['x-sluss_identity', 'forged']]],
    [
      'duplicated',
      [
        ['X-Remote-User', 'admin'],
        ['x-remote-user', 'root'],
      ],
    ],
    ['a plain identity header with underscores', [['X_REMOTE_EMAIL', 'ceo@example.com']]],
  ])('%s', (_attack, forged) => {
    const out = forward([['Host', 'app.example.com'], ...forged]);
    const beforeIdentity = out.slice(0, -IDENTITY.length).map(([key]) => key);
    for (const [name] of forged) expect(beforeIdentity).not.toContain(name.toLowerCase());
    expect(valuesOf(out, 'x-sluss-identity')).toEqual(['signed.jwt.value']);
    expect(valuesOf(out, 'x-remote-user')).toEqual(['alice']);
    expect(out.map(([, value]) => value)).not.toContain('forged');
    expect(out.map(([, value]) => value)).not.toContain('admin');
    expect(out.map(([, value]) => value)).not.toContain('ceo@example.com');
  });

  it('appends the identity headers last, after the forwarding headers', () => {
    const out = forward([
      ['Host', 'app.example.com'],
      ['Accept', 'text/html'],
    ]);
    expect(out.slice(-2)).toEqual(IDENTITY);
    expect(out.slice(0, 2)).toEqual([
      ['accept', 'text/html'],
      ['host', 'app.example.com'],
    ]);
  });

  it('keeps ordinary headers, duplicates and order', () => {
    const out = forward([
      ['Accept', 'text/html'],
      ['X-Custom', 'a'],
      ['x-custom', 'b'],
      ['Authorization', 'Basic abc'],
    ]);
    expect(out.slice(0, 4)).toEqual([
      ['accept', 'text/html'],
      ['x-custom', 'a'],
      ['x-custom', 'b'],
      ['authorization', 'Basic abc'],
    ]);
  });
});

describe('upstreamRequestHeaders drops hop-by-hop headers', () => {
  it.each<[string, [string, string][], string[]]>([
    [
      'RFC 9110 connection-specific headers',
      [
        ['Connection', 'keep-alive'],
        ['Keep-Alive', 'timeout=5'],
        ['Proxy-Connection', 'keep-alive'],
        ['Proxy-Authorization', 'Basic abc'],
        ['TE', 'trailers'],
        ['Trailer', 'x-checksum'],
        ['Transfer-Encoding', 'chunked'],
        ['Upgrade', 'h2c'],
        ['HTTP2-Settings', 'AAMAAABkAAQAAP__'],
      ],
      [
        'connection',
        'keep-alive',
        'proxy-connection',
        'proxy-authorization',
        'te',
        'trailer',
        'transfer-encoding',
        'upgrade',
        'http2-settings',
      ],
    ],
    [
      'headers named in Connection (hiding an identity-like header from the upstream)',
      [
        ['Connection', 'close, X-Secret-Hop, x-other'],
        ['X-Secret-Hop', '1'],
        ['X-Other', '2'],
      ],
      ['x-secret-hop', 'x-other'],
    ],
    ['Expect (sluss handles 100-continue itself)', [['Expect', '100-continue']], ['expect']],
  ])('%s', (_case, raw, dropped) => {
    const out = forward([['Host', 'app.example.com'], ['X-Kept', 'yes'], ...raw]);
    for (const name of dropped) expect(out.map(([key]) => key)).not.toContain(name);
    expect(valuesOf(out, 'x-kept')).toEqual(['yes']);
  });
});

describe('upstreamRequestHeaders sets forwarding headers', () => {
  const FORGED: [string, string][] = [
    ['X-Forwarded-For', '1.2.3.4'],
    ['X-Forwarded-Proto', 'http'],
    ['X-Forwarded-Host', 'evil.example'],
    ['X-Forwarded-Port', '1'],
    ['Forwarded', 'for=1.2.3.4;host=evil.example'],
    ['X-Real-IP', '1.2.3.4'],
    ['X_Forwarded_For', '5.6.7.8'],
    ['X_Real_IP', '5.6.7.8'],
  ];

  it.each(['203.0.113.7', '::ffff:203.0.113.7', '2001:db8::1', '10.0.0.1.evil'])(
    'replaces client values from the untrusted peer %s',
    (peer) => {
      const out = forward([['Host', 'app.example.com'], ...FORGED], { peer });
      expect(valuesOf(out, 'x-forwarded-for')).toEqual([peer]);
      expect(valuesOf(out, 'x-forwarded-proto')).toEqual(['https']);
      expect(valuesOf(out, 'x-forwarded-host')).toEqual(['app.example.com']);
      for (const name of ['forwarded', 'x-real-ip', 'x-forwarded-port', 'x_forwarded_for', 'x_real_ip'])
        expect(out.map(([key]) => key)).not.toContain(name);
    },
  );

  it.each([
    ['an IPv4 CIDR', '10.1.2.3'],
    ['an IPv4-mapped IPv6 address in the CIDR', '::ffff:10.1.2.3'],
    ['a single IP', '192.168.1.5'],
    ['an IPv6 CIDR', 'fd00::1'],
  ])('appends to X-Forwarded-For from a trusted peer (%s)', (_case, peer) => {
    const out = forward(
      [
        ['Host', 'app.example.com'],
        ['X-Forwarded-For', '198.51.100.1'],
        ['X-Forwarded-For', '198.51.100.2'],
        ['X-Forwarded-Proto', 'http'],
      ],
      { peer },
    );
    expect(valuesOf(out, 'x-forwarded-for')).toEqual([`198.51.100.1, 198.51.100.2, ${peer}`]);
    // Scheme and host come from configuration even behind a trusted proxy.
    expect(valuesOf(out, 'x-forwarded-proto')).toEqual(['https']);
  });

  it('does not trust a neighbour of a single trusted IP', () => {
    const out = forward(
      [
        ['Host', 'app.example.com'],
        ['X-Forwarded-For', '1.2.3.4'],
      ],
      { peer: '192.168.1.6' },
    );
    expect(valuesOf(out, 'x-forwarded-for')).toEqual(['192.168.1.6']);
  });
});

describe('upstreamRequestHeaders: Host and cookies', () => {
  it.each<[string, boolean, [string, string][], string]>([
    ['preserveHost on keeps the browser Host', true, [['Host', 'app.example.com']], 'app.example.com'],
    ['preserveHost off uses the upstream host', false, [['Host', 'app.example.com']], '127.0.0.1:3000'],
    ['preserveHost on without a Host header uses the upstream host', true, [], '127.0.0.1:3000'],
    [
      'preserveHost on keeps a configured alias Host',
      true,
      [['Host', 'alias.example.com']],
      'alias.example.com',
    ],
    [
      'password-reset poisoning: an unknown Host becomes the tenant host',
      true,
      [['Host', 'evil.example']],
      'app.example.com',
    ],
  ])('%s', (_case, preserveHost, raw, expected) => {
    const out = forward(raw, { policy: { preserveHost } });
    expect(valuesOf(out, 'host')).toEqual([expected]);
  });

  it.each<[string, string, string | undefined]>([
    ['removes the session and chunk cookies', 'sluss=sealed; app=1; sluss.1=a; sluss.2=b', 'app=1'],
    ['removes login transaction cookies', 'sluss-txn-abc=t; app=1', 'app=1'],
    ['keeps look-alike cookies', 'sluss2=x; mysluss=y; sluss=sealed', 'sluss2=x; mysluss=y'],
    ['drops the header when only sluss cookies were sent', 'sluss=sealed; sluss.1=a', undefined],
  ])('%s', (_case, cookie, expected) => {
    const out = forward([
      ['Host', 'app.example.com'],
      ['Cookie', cookie],
    ]);
    expect(valuesOf(out, 'cookie')).toEqual(expected === undefined ? [] : [expected]);
  });
});

describe('downstreamResponseHeaders', () => {
  it('drops hop-by-hop headers and those named in Connection, keeps the rest', () => {
    const out = downstreamResponseHeaders({
      connection: 'keep-alive, x-internal',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      upgrade: 'h2c',
      trailer: 'x-sum',
      'proxy-authenticate': 'Basic',
      'x-internal': 'secret',
      'content-type': 'text/html',
      'set-cookie': ['a=1', 'b=2'],
    });
    expect(out).toEqual({ 'content-type': 'text/html', 'set-cookie': ['a=1', 'b=2'] });
  });
});

describe('headerListToObject', () => {
  it('joins duplicates (cookies with ;) for the websocket path', () => {
    expect(
      headerListToObject(['cookie', 'a=1', 'x-a', '1', 'cookie', 'b=2', 'x-a', '2', 'x-a', '3']),
    ).toEqual({
      cookie: 'a=1; b=2',
      'x-a': ['1', '2', '3'],
    });
  });
});
