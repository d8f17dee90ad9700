/**
 * Renders sluss's pages and screenshots them in headless Chromium, to look at
 * what a person sees: `node scripts/screenshot-pages.ts OUTDIR`.
 *
 * The pages are served by a throwaway node:http server on 127.0.0.1 with the
 * real Content-Security-Policy, so a CSP violation (an inline script, an
 * external image) shows up as an error here. Needs Debian's chromium
 * (`apt-get install chromium`) and playwright-core.
 */
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { chromium } from 'playwright-core';
import type { Language } from '../src/pages/i18n.ts';
import { PAGE_CSP } from '../src/pages/layout.ts';
import {
  accessDeniedPage,
  type Branding,
  type ChooserIdp,
  chooserPage,
  errorPageFor,
  mfaRequiredPage,
} from '../src/pages/pages.ts';

const SVG_LOGO = `data:image/svg+xml;base64,${Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 22 22"><rect x="1" y="1" width="9" height="9" fill="#f25022"/><rect x="12" y="1" width="9" height="9" fill="#7fba00"/><rect x="1" y="12" width="9" height="9" fill="#00a4ef"/><rect x="12" y="12" width="9" height="9" fill="#ffb900"/></svg>',
).toString('base64')}`;

const branding: Branding = {
  title: 'Vårdcentralen Norrtälje',
  primaryColor: '#0a6e4f',
  backgroundColor: '#e8f1ec',
};

const idps: ChooserIdp[] = [
  {
    id: 'entra',
    title: 'Staff (Microsoft Entra ID)',
    href: '/.sluss/login?idp=entra&rd=%2F',
    logoDataUri: SVG_LOGO,
  },
  { id: 'okta', title: 'External GPs', href: '/.sluss/login?idp=okta&rd=%2F' },
  { id: 'keycloak', title: 'Partner organisations', href: '/.sluss/login?idp=keycloak&rd=%2F' },
];

function chooser(lang: Language, extra: { branding?: Branding; error?: boolean } = {}): string {
  return chooserPage({
    lang,
    branding: extra.branding ?? branding,
    idps,
    lastUsedId: 'okta',
    homeRealm: {
      action: '/.sluss/login',
      returnTo: '/reports?year=2024',
      ...(extra.error ? { error: 'unknown-domain' as const } : {}),
    },
  });
}

interface Shot {
  readonly name: string;
  readonly html: string;
  readonly width: number;
  readonly height: number;
  /** Press Tab this many times before the shot, to show the focus ring. */
  readonly tabs?: number;
}

const SHOTS: readonly Shot[] = [
  { name: 'chooser-en', html: chooser('en'), width: 1024, height: 768 },
  { name: 'chooser-de', html: chooser('de', { error: true }), width: 1024, height: 768 },
  {
    name: 'error-sv',
    html: errorPageFor({
      lang: 'sv',
      branding,
      code: 'ERR_IDP_UNAVAILABLE',
      reference: '3f9c2a7be041',
      retryHref: '/.sluss/login?rd=%2F',
    }),
    width: 1024,
    height: 768,
  },
  // Extra views: a phone, keyboard focus, and a brand colour too light for white text.
  { name: 'chooser-en-mobile', html: chooser('en'), width: 375, height: 740 },
  { name: 'chooser-en-focus', html: chooser('en'), width: 1024, height: 768, tabs: 2 },
  {
    name: 'denied-nl-yellow',
    html: accessDeniedPage({
      lang: 'nl',
      branding: { title: 'Gele Zorg B.V.', primaryColor: '#ffd700', backgroundColor: '#1f2933' },
      reason: 'group-not-allowed',
      reference: 'a1b2c3d4e5f6',
      logoutHref: '/.sluss/logout',
    }),
    width: 1024,
    height: 768,
    tabs: 1,
  },
  {
    name: 'mfa-de-mobile',
    html: mfaRequiredPage({
      lang: 'de',
      branding,
      reference: '0badc0ffee00',
      retryHref: '/.sluss/login?rd=%2F',
      logoutHref: '/.sluss/logout',
    }),
    width: 375,
    height: 740,
  },
];

async function main(): Promise<void> {
  const outDir = resolve(process.argv[2] ?? 'screenshots');
  await mkdir(outDir, { recursive: true });

  const byPath = new Map(SHOTS.map((shot) => [`/${shot.name}`, shot.html]));
  const server = createServer((req, res) => {
    const html = byPath.get(req.url ?? '');
    if (html === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res
      .writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': PAGE_CSP,
        'x-content-type-options': 'nosniff',
      })
      .end(html);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const problems: string[] = [];
  try {
    for (const shot of SHOTS) {
      const page = await browser.newPage({ viewport: { width: shot.width, height: shot.height } });
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`${shot.name}: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`${shot.name}: ${error.message}`));
      page.on('request', (request) => {
        const url = request.url();
        if (!url.startsWith(`http://127.0.0.1:${port}/`) && !url.startsWith('data:')) {
          problems.push(`${shot.name}: external request ${url}`);
        }
      });
      await page.goto(`http://127.0.0.1:${port}/${shot.name}`, { waitUntil: 'load' });
      for (let i = 0; i < (shot.tabs ?? 0); i++) await page.keyboard.press('Tab');
      // A string: the project's tsconfig has no DOM types.
      const overflow = await page.evaluate(
        'document.documentElement.scrollWidth > document.documentElement.clientWidth',
      );
      if (overflow) problems.push(`${shot.name}: horizontal overflow at ${shot.width}px`);
      const file = resolve(outDir, `${shot.name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      process.stdout.write(`${file}\n`);
      await page.close();
    }
  } finally {
    await browser.close();
    server.close();
  }
  if (problems.length > 0) {
    process.stderr.write(`${problems.join('\n')}\n`);
    process.exitCode = 1;
  }
}

await main();
