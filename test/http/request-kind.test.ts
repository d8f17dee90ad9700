import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { isBrowserNavigation } from '../../src/http/request-kind.ts';

const HTML_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

function request(method: string, headers: IncomingHttpHeaders): IncomingMessage {
  return { method, headers } as IncomingMessage;
}

describe('isBrowserNavigation', () => {
  it.each<[string, string, IncomingHttpHeaders]>([
    [
      'Sec-Fetch-Mode navigate',
      'GET',
      { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document', accept: HTML_ACCEPT },
    ],
    [
      'Sec-Fetch-Mode navigate into an iframe',
      'GET',
      { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'iframe' },
    ],
    ['HEAD navigation', 'HEAD', { 'sec-fetch-mode': 'navigate' }],
    ['legacy browser accepting text/html', 'GET', { accept: HTML_ACCEPT }],
  ])('a navigation: %s', (_case, method, headers) => {
    expect(isBrowserNavigation(request(method, headers))).toBe(true);
  });

  it.each<[string, string, IncomingHttpHeaders]>([
    ['fetch() with Sec-Fetch-Mode cors', 'GET', { 'sec-fetch-mode': 'cors', accept: HTML_ACCEPT }],
    ['fetch() with Sec-Fetch-Mode no-cors', 'GET', { 'sec-fetch-mode': 'no-cors', accept: HTML_ACCEPT }],
    [
      'fetch() with Sec-Fetch-Mode same-origin',
      'GET',
      { 'sec-fetch-mode': 'same-origin', accept: HTML_ACCEPT },
    ],
    [
      'navigate mode with an empty destination',
      'GET',
      { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'empty' },
    ],
    [
      'legacy XHR with X-Requested-With',
      'GET',
      { 'x-requested-with': 'XMLHttpRequest', accept: HTML_ACCEPT },
    ],
    ['legacy client accepting JSON', 'GET', { accept: 'application/json' }],
    ['legacy client accepting anything', 'GET', { accept: '*/*' }],
    ['no Accept header at all', 'GET', {}],
    ['a form POST', 'POST', { 'sec-fetch-mode': 'navigate', accept: HTML_ACCEPT }],
    ['a legacy POST', 'POST', { accept: HTML_ACCEPT }],
    ['PUT', 'PUT', { accept: HTML_ACCEPT }],
    ['a websocket upgrade', 'GET', { upgrade: 'websocket', connection: 'Upgrade', accept: HTML_ACCEPT }],
    [
      'a websocket upgrade from a modern browser',
      'GET',
      { upgrade: 'websocket', 'sec-fetch-mode': 'websocket' },
    ],
    ['an API client with Authorization', 'GET', { authorization: 'Bearer abc', accept: HTML_ACCEPT }],
  ])('an API call: %s', (_case, method, headers) => {
    expect(isBrowserNavigation(request(method, headers))).toBe(false);
  });
});
