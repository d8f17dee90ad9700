/**
 * sluss as SAML 2.0 service provider against a real SAML IdP (samlify, on
 * loopback): SP- and IdP-initiated login, signatures and encryption, identity
 * mapping, session caps, single logout both ways, SP metadata, IdP metadata
 * refresh and replay protection.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { DOMParser } from '@xmldom/xmldom';
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SignedXml } from 'xml-crypto';
import { ManualClock } from '../../src/clock.ts';
import { mappedFromJwt, PRESET_CASES, withoutFlags } from '../fixtures/claim-shapes.ts';
import { loginThroughOp } from '../support/browserless-login.ts';
import { generateKeyPairWithCertificate } from '../support/certificates.ts';
import { CookieJar } from '../support/cookie-jar.ts';
import {
  type RunningSamlIdp,
  type SamlIdpOptions,
  type SamlUser,
  startSamlIdp,
} from '../support/saml-idp.ts';
import { AUDIENCE, freePort, JWT_HEADER, type Stack, startStack } from '../support/sluss-stack.ts';

const spSigning = generateKeyPairWithCertificate('sluss SP signing');
const spEncryption = generateKeyPairWithCertificate('sluss SP encryption');
const stranger = generateKeyPairWithCertificate('not the IdP');

const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const MFA = 'http://schemas.microsoft.com/claims/multipleauthn';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';

const alice: SamlUser = {
  nameId: 'alice@example.com',
  nameIdFormat: 'email',
  attributes: { email: 'alice@example.com', displayName: 'Alice Liddell', groups: ['a', 'b', 'c'] },
};

interface Echo {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

interface SamlStack {
  stack: Stack;
  idp: RunningSamlIdp;
  publicUrl: string;
  /** The IdP options the stack started with; restore them with `reset()`. */
  reset(): void;
  close(): Promise<void>;
}

interface SamlStackOptions {
  /** Merged into the tenant's SAML IdP entry (a null value removes a key). */
  idp?: (idp: RunningSamlIdp) => Record<string, unknown>;
  idpOptions?: Partial<SamlIdpOptions>;
  clock?: ManualClock;
  /** Give sluss no SP signing or encryption key (default: both). */
  withoutSpKeys?: boolean;
}

async function startSamlStack(options: SamlStackOptions = {}): Promise<SamlStack> {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const base: SamlIdpOptions = {
    sp: {
      entityId: `${publicUrl}/.sluss/saml/metadata`,
      acsUrl: `${publicUrl}/.sluss/saml/acs`,
      sloUrl: `${publicUrl}/.sluss/saml/slo`,
      ...(options.withoutSpKeys
        ? {}
        : {
            signingCertificatePem: spSigning.certificatePem,
            encryptionCertificatePem: spEncryption.certificatePem,
          }),
    },
    user: alice,
    ...options.idpOptions,
  };
  const idp = await startSamlIdp(structuredClone(base));
  const stack = await startStack({
    port,
    ...(options.clock ? { clock: options.clock } : {}),
    idp: {
      type: 'saml',
      issuer: null,
      clientId: null,
      clientSecret: null,
      scopes: null,
      id: 'corp-saml',
      metadataUrl: idp.metadataUrl,
      // These tests are about the protocol and NameID formats; required names are tested in lifetimes/policy.
      mapping: { required: [] },
      ...options.idp?.(idp),
    },
    tenant: {
      saml: options.withoutSpKeys
        ? {}
        : {
            signingKey: spSigning.privateKeyPem,
            signingCert: spSigning.certificatePem,
            encryptionKey: spEncryption.privateKeyPem,
            encryptionCert: spEncryption.certificatePem,
          },
    },
  });
  return {
    stack,
    idp,
    publicUrl,
    reset() {
      idp.options = structuredClone(base);
    },
    async close() {
      await stack.close();
      await idp.close();
    },
  };
}

/** A whole SP-initiated login to `rd` through the IdP, as a browser would. */
async function samlLogin(s: SamlStack, rd = '/echo/protected', jar = new CookieJar()) {
  const result = await loginThroughOp(`${s.publicUrl}/.sluss/login?rd=${encodeURIComponent(rd)}`, jar, {
    login: '',
    password: '',
  });
  return { jar, ...result };
}

/** Logs in and returns what the upstream app received. */
async function loginEcho(s: SamlStack, rd = '/echo/protected') {
  const { jar, response, hops } = await samlLogin(s, rd);
  const text = await response.text();
  expect(response.status, `${hops.join('\n')}\n${text}\n${lastWarning(s)}`).toBe(200);
  return { jar, hops, echo: JSON.parse(text) as Echo };
}

/** A login that sluss refuses at the ACS: the JSON error (fetch is not a navigation). */
async function refusedLogin(
  s: SamlStack,
): Promise<{ status: number; error: string; message: string; log: string }> {
  const { response, hops } = await samlLogin(s);
  expect(hops.at(-1)).toBe(`POST ${s.publicUrl}/.sluss/saml/acs`);
  const body = (await response.json()) as { error: string; message: string };
  return { status: response.status, ...body, log: lastWarning(s) };
}

/** The last warning sluss logged (refusals are logged with their cause), as text. */
function lastWarning(s: SamlStack): string {
  return s.stack.logs.lines.filter((line) => line.includes('"level":"warn"')).at(-1) ?? '';
}

async function identityOf(s: SamlStack, echo: Echo): Promise<JWTPayload> {
  const jwks = createRemoteJWKSet(new URL(`${s.publicUrl}/.sluss/jwks.json`));
  const { payload } = await jwtVerify(echo.headers[JWT_HEADER] as string, jwks, {
    issuer: s.publicUrl,
    audience: AUDIENCE,
  });
  return payload;
}

/** Whether the session cookie(s) in `cookie` still get a request through to the app. */
async function alive(s: SamlStack, cookie: string | undefined): Promise<boolean> {
  const response = await fetch(`${s.publicUrl}/echo/check`, {
    headers: cookie ? { cookie } : {},
    redirect: 'manual',
  });
  await response.body?.cancel();
  return response.status === 200;
}

/** GET /.sluss/login and return the IdP URL it redirects to (the jar keeps the transaction cookie). */
async function beginLogin(s: SamlStack, jar: CookieJar, rd = '/echo/protected'): Promise<URL> {
  const url = `${s.publicUrl}/.sluss/login?rd=${encodeURIComponent(rd)}`;
  const response = await fetch(url, { headers: headersFor(jar, url), redirect: 'manual' });
  jar.store(url, response.headers);
  await response.body?.cancel();
  expect(response.status).toBe(302);
  const location = new URL(response.headers.get('location') ?? '');
  expect(`${location.origin}${location.pathname}`).toBe(s.idp.ssoUrl);
  return location;
}

function headersFor(jar: CookieJar, url: string | URL): Record<string, string> {
  const cookie = jar.header(url);
  return cookie ? { cookie } : {};
}

/** The hidden fields of one of the IdP's auto-post pages. */
function formFields(html: string): { action: string; fields: Record<string, string> } {
  const decode = (value: string) =>
    value.replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n)));
  const action = decode(/<form method="post" action="([^"]*)"/.exec(html)?.[1] ?? '');
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)"\/>/g))
    fields[decode(m[1] ?? '')] = decode(m[2] ?? '');
  return { action, fields };
}

/** What the IdP answers at `url` (its SSO endpoint or IdP-initiated URL): the form it posts to the ACS. */
async function idpAnswer(url: string | URL): Promise<Record<string, string>> {
  const response = await fetch(url);
  const html = await response.text();
  expect(response.status, html).toBe(200);
  return formFields(html).fields;
}

async function postAcs(s: SamlStack, fields: Record<string, string>, cookie?: string): Promise<Response> {
  return fetch(`${s.publicUrl}/.sluss/saml/acs`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(cookie ? { cookie } : {}),
    },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
}

/** The ID of the (deflated, Redirect-binding) AuthnRequest in a URL sluss sent the browser to. */
function authnRequestId(idpUrl: URL): string {
  const xml = inflateRawSync(Buffer.from(idpUrl.searchParams.get('SAMLRequest') ?? '', 'base64')).toString();
  const id = /\bID="([^"]+)"/.exec(xml)?.[1];
  expect(id).toBeDefined();
  return id ?? '';
}

function xmlOf(base64: string): string {
  return Buffer.from(base64, 'base64').toString('utf8');
}

function withoutSignature(xml: string): string {
  return xml.replace(/<(\w+:)?Signature\b[\s\S]*?<\/(\w+:)?Signature>/, '');
}

/** The AuthnRequest the IdP received last, and the URL sluss sent the browser to with it. */
function lastAuthnRequest(s: SamlStack, hops: string[]) {
  const request = s.idp.authnRequests.at(-1);
  const hop = hops.find((h) => h.startsWith(`${s.idp.ssoUrl}?`));
  expect(request).toBeDefined();
  expect(hop).toBeDefined();
  return { request: request as NonNullable<typeof request>, url: new URL(hop ?? '') };
}

describe('SAML SP-initiated login (IdP from its metadata URL)', () => {
  let s: SamlStack;
  beforeAll(async () => {
    s = await startSamlStack();
  });
  afterAll(async () => {
    await s?.close();
  });
  beforeEach(() => s.reset());

  it('logs in with a signed SHA-256 AuthnRequest and forwards the identity to the app', async () => {
    const { echo, hops, jar } = await loginEcho(s);
    expect(echo.url).toBe('/echo/protected');
    expect(echo.headers['x-remote-user']).toBe('alice@example.com');
    expect(echo.headers['x-remote-email']).toBe('alice@example.com');
    expect(echo.headers['x-remote-name']).toBe('Alice Liddell');
    expect(echo.headers['x-remote-groups']).toBe('a,b,c');
    expect(await identityOf(s, echo)).toMatchObject({
      sub: 'alice@example.com',
      email: 'alice@example.com',
      groups: ['a', 'b', 'c'],
      idp: 'corp-saml',
      tenant: 'acme',
      mfa: false,
    });

    const { request, url } = lastAuthnRequest(s, hops);
    expect(request.signed).toBe(true);
    expect(url.searchParams.get('SigAlg')).toBe(RSA_SHA256);
    expect(url.searchParams.get('Signature')).toBeTruthy();
    expect(request.xml).toContain(`AssertionConsumerServiceURL="${s.publicUrl}/.sluss/saml/acs"`);
    expect(request.xml).not.toContain('ForceAuthn="true"');
    expect(request.xml).not.toContain('RequestedAuthnContext');
    const session = jar.get('__Host-sluss', s.publicUrl);
    expect(session?.httpOnly).toBe(true);
    expect(session?.value).not.toContain('alice');
  });

  it('accepts an encrypted assertion it can decrypt', async () => {
    s.idp.options.encryptAssertion = true;
    const jar = new CookieJar();
    const fields = await idpAnswer(await beginLogin(s, jar));
    const xml = xmlOf(fields.SAMLResponse ?? '');
    expect(xml).toContain('EncryptedAssertion');
    expect(xml).not.toContain('alice@example.com');
    const response = await postAcs(s, fields, jar.header(s.publicUrl));
    expect(response.status, await response.text()).toBe(302);
    expect(response.headers.get('location')).toBe('/echo/protected');
  });

  it('refuses an SHA-1 signature hidden inside an encrypted assertion', async () => {
    s.idp.options.encryptAssertion = true;
    s.idp.options.signResponse = false;
    s.idp.options.signatureAlgorithm = 'rsa-sha1';
    try {
      const refused = await refusedLogin(s);
      expect(refused.status).toBe(400);
      expect(refused.error).toBe('ERR_SAML_RESPONSE_INVALID');
      expect(refused.log).toContain('SHA-1');
    } finally {
      s.idp.options.encryptAssertion = false;
      s.idp.options.signResponse = true;
      s.idp.options.signatureAlgorithm = 'rsa-sha256';
    }
  });

  it('with signatureRequired "assertion" (the default), an unsigned assertion in a signed response is refused', async () => {
    s.idp.options.signResponse = false;
    await loginEcho(s); // assertion signed only: fine
    s.idp.options.signResponse = true;
    s.idp.options.signAssertion = false;
    const refused = await refusedLogin(s);
    expect(refused).toMatchObject({ status: 400, error: 'ERR_SAML_RESPONSE_INVALID' });
    expect(refused.log).toMatch(/signature/i);
  });

  it('refuses a response signed by another key', async () => {
    const other = await startSamlIdp({ ...structuredClone(s.idp.options) });
    try {
      const jar = new CookieJar();
      const idpUrl = await beginLogin(s, jar);
      const requestId = authnRequestId(idpUrl);
      // Same issuer, same request, but signed by a key sluss does not trust.
      const forged = xmlOf(await other.createResponse(requestId)).replaceAll(other.entityId, s.idp.entityId);
      const response = await postAcs(
        s,
        {
          SAMLResponse: Buffer.from(forged).toString('base64'),
          RelayState: idpUrl.searchParams.get('RelayState') ?? '',
        },
        jar.header(s.publicUrl),
      );
      expect(response.status).toBe(400);
      expect(lastWarning(s)).toMatch(/signature/i);
      expect(jar.get('__Host-sluss', s.publicUrl)).toBeUndefined();
    } finally {
      await other.close();
    }
  });

  it.each([
    [
      'email NameID, email from the NameID',
      { nameId: 'bob@example.com', nameIdFormat: 'email', attributes: {} },
      'bob@example.com',
      'bob@example.com',
    ],
    [
      'persistent NameID, email from an attribute',
      { nameId: 'p-7f3a', nameIdFormat: 'persistent', attributes: { mail: 'carol@example.com' } },
      'p-7f3a',
      'carol@example.com',
    ],
    [
      'transient NameID with a stable subject-id attribute, no email',
      {
        nameId: '_t-91bc',
        nameIdFormat: 'transient',
        attributes: { 'urn:oasis:names:tc:SAML:attribute:subject-id': 'fred@example.edu' },
      },
      'fred@example.edu',
      undefined,
    ],
    [
      'unspecified NameID, email from a claim URI',
      {
        nameId: 'DOMAIN\\dave',
        nameIdFormat: 'unspecified',
        attributes: {
          'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress': 'dave@example.com',
        },
      },
      'DOMAIN\\dave',
      'dave@example.com',
    ],
  ] as const)('maps a %s', async (_label, user, sub, email) => {
    s.idp.user = structuredClone(user) as SamlUser;
    const { echo } = await loginEcho(s);
    expect(echo.headers['x-remote-user']).toBe(sub);
    expect(echo.headers['x-remote-email']).toBe(email);
    expect(echo.headers['x-remote-groups']).toBeUndefined();
    const payload = await identityOf(s, echo);
    expect(payload.sub).toBe(sub);
    expect(payload.email).toBe(email);
  });

  it('passes multi-valued groups from an Entra-style claim URI on as a list', async () => {
    s.idp.user = {
      nameId: 'erin@example.com',
      nameIdFormat: 'email',
      attributes: {
        'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups': ['g1', 'g2', 'g3', 'g4'],
      },
    };
    const { echo } = await loginEcho(s);
    expect(echo.headers['x-remote-groups']).toBe('g1,g2,g3,g4');
    expect((await identityOf(s, echo)).groups).toEqual(['g1', 'g2', 'g3', 'g4']);
  });

  it('marks MFA named in authnmethodsreferences (Entra ID, AD FS) as mfa', async () => {
    s.idp.user = {
      ...structuredClone(alice),
      authnContextClassRef: 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport',
      attributes: {
        ...structuredClone(alice).attributes,
        'http://schemas.microsoft.com/claims/authnmethodsreferences': [
          'http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password',
          MFA,
        ],
      },
    };
    const { echo } = await loginEcho(s);
    expect((await identityOf(s, echo)).mfa).toBe(true);
  });

  it('marks an MFA AuthnContextClassRef as mfa, a password-only one not', async () => {
    s.idp.user = { ...structuredClone(alice), authnContextClassRef: MFA };
    const mfa = await loginEcho(s);
    expect((await identityOf(s, mfa.echo)).mfa).toBe(true);
    s.idp.user = {
      ...structuredClone(alice),
      authnContextClassRef: 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport',
    };
    const password = await loginEcho(s);
    expect((await identityOf(s, password.echo)).mfa).toBe(false);
  });

  it("caps the session at the IdP's SessionNotOnOrAfter", async () => {
    s.idp.options.sessionNotOnOrAfterSeconds = 120;
    const { jar } = await loginEcho(s);
    const maxAge = Number(jar.get('__Host-sluss', s.publicUrl)?.attributes['max-age']);
    expect(maxAge).toBeGreaterThan(100);
    expect(maxAge).toBeLessThanOrEqual(120);
    s.reset();
    const uncapped = await loginEcho(s);
    expect(Number(uncapped.jar.get('__Host-sluss', s.publicUrl)?.attributes['max-age'])).toBeGreaterThan(
      3000,
    );
  });

  it('refuses an IdP-initiated (unsolicited) response when allowIdpInitiated is off', async () => {
    const jar = new CookieJar();
    const result = await loginThroughOp(`${s.idp.idpInitiatedUrl}?RelayState=%2Fecho%2Fx`, jar, {
      login: '',
      password: '',
    });
    expect(result.response.status).toBe(400);
    expect(((await result.response.json()) as { error: string }).error).toBe('ERR_SAML_RESPONSE_INVALID');
    expect(lastWarning(s)).toMatch(/Unsolicited/);
    expect(jar.get('__Host-sluss', s.publicUrl)).toBeUndefined();
  });

  it('refuses the same SAMLResponse posted twice', async () => {
    const jar = new CookieJar();
    const fields = await idpAnswer(await beginLogin(s, jar));
    const cookie = jar.header(s.publicUrl); // an attacker replaying the whole request, cookie and all
    const first = await postAcs(s, fields, cookie);
    await first.body?.cancel();
    expect(first.status).toBe(302);
    const second = await postAcs(s, fields, cookie);
    expect(second.status).toBe(400);
    expect(lastWarning(s)).toMatch(/already used/);
    expect(second.headers.getSetCookie().some((c) => c.startsWith('__Host-sluss='))).toBe(false);
    // And without the transaction cookie it is neither a solicited nor an acceptable unsolicited response.
    const third = await postAcs(s, fields);
    expect(third.status).toBe(400);
    expect(lastWarning(s)).toMatch(/did not make \(InResponseTo\)/);
  });

  it("refuses a response to a request another browser started, and leaves that browser's login intact", async () => {
    const victim = new CookieJar();
    const attacker = new CookieJar();
    const victimUrl = await beginLogin(s, victim);
    const victimResponse = await idpAnswer(victimUrl);
    const attackerUrl = await beginLogin(s, attacker);

    // The victim's response with the victim's RelayState, in the attacker's browser: no transaction.
    const noTransaction = await postAcs(s, victimResponse, attacker.header(s.publicUrl));
    expect(noTransaction.status).toBe(400);
    expect(lastWarning(s)).toMatch(/did not make \(InResponseTo\)/);
    // With the attacker's own RelayState: the InResponseTo is not the attacker's request.
    const mismatch = await postAcs(
      s,
      { ...victimResponse, RelayState: attackerUrl.searchParams.get('RelayState') ?? '' },
      attacker.header(s.publicUrl),
    );
    expect(mismatch.status).toBe(400);
    expect(lastWarning(s)).toMatch(/did not make \(InResponseTo\)/);

    const own = await postAcs(s, victimResponse, victim.header(s.publicUrl));
    expect(own.status, await own.text()).toBe(302);
  });

  it('sets the login transaction cookie SameSite=None; Secure, so it survives the IdP cross-site POST', async () => {
    const jar = new CookieJar();
    await beginLogin(s, jar);
    const txn = jar.names(s.publicUrl).find((name) => name.includes('-txn-'));
    expect(txn).toBeDefined();
    const cookie = jar.get(txn ?? '', s.publicUrl);
    expect(cookie?.sameSite?.toLowerCase()).toBe('none');
    expect(cookie?.secure).toBe(true);
    expect(cookie?.httpOnly).toBe(true);
  });

  it.each([
    [
      'an expired response',
      () => ({ timeOffsetSeconds: -900 }),
      /subject confirmation|NotOnOrAfter|expired/i,
    ],
    [
      "a response addressed to another SP's ACS (Destination, Recipient)",
      () => ({ sp: { entityId: 'https://other-sp.example/saml', acsUrl: 'https://other-sp.example/acs' } }),
      /another endpoint \(Destination\)/,
    ],
    [
      'an assertion for another audience',
      (acsUrl: string) => ({ sp: { entityId: 'https://other-sp.example/saml', acsUrl } }),
      /audience/i,
    ],
  ] as const)('refuses %s', async (_label, overrides, reason) => {
    const jar = new CookieJar();
    const idpUrl = await beginLogin(s, jar);
    const samlResponse = await s.idp.createResponse(
      authnRequestId(idpUrl),
      overrides(`${s.publicUrl}/.sluss/saml/acs`),
    );
    const response = await postAcs(
      s,
      { SAMLResponse: samlResponse, RelayState: idpUrl.searchParams.get('RelayState') ?? '' },
      jar.header(s.publicUrl),
    );
    expect(response.status).toBe(400);
    expect(lastWarning(s)).toMatch(reason);
  });

  it('publishes SP metadata with entity ID, HTTP-POST ACS, SLO and both certificates, signed', async () => {
    const response = await fetch(`${s.publicUrl}/.sluss/saml/metadata`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/samlmetadata+xml');
    const xml = await response.text();
    const document = new DOMParser().parseFromString(xml, 'text/xml');
    const root = document.documentElement;
    expect(root?.localName).toBe('EntityDescriptor');
    expect(root?.getAttribute('entityID')).toBe(`${s.publicUrl}/.sluss/saml/metadata`);
    const acs = Array.from(document.getElementsByTagNameNS(MD, 'AssertionConsumerService'));
    expect(acs.map((e) => [e.getAttribute('Binding'), e.getAttribute('Location')])).toContainEqual([
      'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
      `${s.publicUrl}/.sluss/saml/acs`,
    ]);
    const slo = Array.from(document.getElementsByTagNameNS(MD, 'SingleLogoutService'));
    expect(slo.map((e) => e.getAttribute('Location'))).toContain(`${s.publicUrl}/.sluss/saml/slo`);
    const keys = Array.from(document.getElementsByTagNameNS(MD, 'KeyDescriptor')).map((k) => ({
      use: k.getAttribute('use'),
      cert: (k.getElementsByTagNameNS(DS, 'X509Certificate')[0]?.textContent ?? '').replace(/\s+/g, ''),
    }));
    expect(keys).toContainEqual({ use: 'signing', cert: spSigning.certificateBase64 });
    expect(keys).toContainEqual({ use: 'encryption', cert: spEncryption.certificateBase64 });

    const signature = Array.from(root?.childNodes ?? []).find(
      (n): n is Element => n.nodeType === 1 && (n as Element).localName === 'Signature',
    );
    expect(signature).toBeDefined();
    const verifier = new SignedXml({ publicCert: spSigning.certificatePem, getCertFromKeyInfo: () => null });
    verifier.loadSignature(signature as unknown as Node);
    expect(verifier.checkSignature(xml)).toBe(true);
    expect(xml).toContain(RSA_SHA256);
  });
});

describe('SAML single logout', () => {
  let s: SamlStack;
  beforeAll(async () => {
    s = await startSamlStack();
  });
  afterAll(async () => {
    await s?.close();
  });
  beforeEach(() => s.reset());

  async function twoSessions() {
    const first = await loginEcho(s);
    const firstIndex = s.idp.lastSessionIndex ?? '';
    const second = await loginEcho(s);
    expect(s.idp.lastSessionIndex).not.toBe(firstIndex);
    const firstCookie = first.jar.header(s.publicUrl);
    const secondCookie = second.jar.header(s.publicUrl);
    expect(await alive(s, firstCookie)).toBe(true);
    expect(await alive(s, secondCookie)).toBe(true);
    return { firstIndex, firstCookie, secondCookie };
  }

  /** sluss's answer to an IdP LogoutRequest: a signed LogoutResponse redirect, which the IdP accepts. */
  async function expectLogoutResponse(response: Response, requestId: string) {
    expect(response.status, await response.clone().text()).toBe(302);
    const location = new URL(response.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(s.idp.sloUrl);
    expect(location.searchParams.get('SAMLResponse')).toBeTruthy();
    expect(location.searchParams.get('Signature')).toBeTruthy();
    expect(location.searchParams.get('SigAlg')).toBe(RSA_SHA256);
    // The IdP verifies the signature against sluss's signing certificate.
    const atIdp = await fetch(location);
    expect(atIdp.status, await atIdp.text()).toBe(200);
    expect(s.idp.logoutResponsesReceived.at(-1)).toMatchObject({
      status: 'urn:oasis:names:tc:SAML:2.0:status:Success',
      inResponseTo: requestId,
    });
  }

  it('an IdP LogoutRequest (HTTP-Redirect) ends exactly the session it names', async () => {
    const { firstIndex, firstCookie, secondCookie } = await twoSessions();
    const { url, id } = await s.idp.createLogoutRequest('redirect', 'alice@example.com', firstIndex);
    const response = await fetch(url ?? '', { redirect: 'manual' });
    await expectLogoutResponse(response, id);
    expect(await alive(s, firstCookie)).toBe(false);
    expect(await alive(s, secondCookie)).toBe(true);
  });

  it('an IdP LogoutRequest (HTTP-POST) ends exactly the session it names', async () => {
    const { firstIndex, firstCookie, secondCookie } = await twoSessions();
    const { html, id } = await s.idp.createLogoutRequest('post', 'alice@example.com', firstIndex);
    const form = formFields(html ?? '');
    expect(form.action).toBe(`${s.publicUrl}/.sluss/saml/slo`);
    const response = await fetch(form.action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form.fields).toString(),
      redirect: 'manual',
    });
    await expectLogoutResponse(response, id);
    expect(await alive(s, firstCookie)).toBe(false);
    expect(await alive(s, secondCookie)).toBe(true);
  });

  it('refuses a LogoutRequest signed by another key and ends nothing', async () => {
    const { firstIndex, firstCookie } = await twoSessions();
    const impostor = await startSamlIdp(structuredClone(s.idp.options));
    try {
      const { html } = await impostor.createLogoutRequest('post', 'alice@example.com', firstIndex);
      const form = formFields(html ?? '');
      // Claims to come from the real IdP, but is signed with the impostor's key.
      const forged = xmlOf(form.fields.SAMLRequest ?? '').replaceAll(impostor.entityId, s.idp.entityId);
      const response = await fetch(form.action, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ SAMLRequest: Buffer.from(forged).toString('base64') }).toString(),
        redirect: 'manual',
      });
      expect(response.status).toBe(400);
      expect(await alive(s, firstCookie)).toBe(true);
    } finally {
      await impostor.close();
    }
  });

  it('a LogoutRequest without SessionIndex ends every session of that NameID, and only of that NameID', async () => {
    const alices = await twoSessions();
    s.idp.user = { nameId: 'bob@example.com', nameIdFormat: 'email', attributes: {} };
    const bob = await loginEcho(s);
    const bobCookie = bob.jar.header(s.publicUrl);
    const { url, id } = await s.idp.createLogoutRequest('redirect', 'bob@example.com');
    await expectLogoutResponse(await fetch(url ?? '', { redirect: 'manual' }), id);
    expect(await alive(s, bobCookie)).toBe(false);
    expect(await alive(s, alices.firstCookie)).toBe(true);
    expect(await alive(s, alices.secondCookie)).toBe(true);
  });

  it('refuses an unsigned LogoutRequest (Redirect or POST) and ends nothing', async () => {
    const { firstIndex, firstCookie } = await twoSessions();
    const { url } = await s.idp.createLogoutRequest('redirect', 'alice@example.com', firstIndex);
    const unsigned = new URL(url ?? '');
    unsigned.searchParams.delete('Signature');
    unsigned.searchParams.delete('SigAlg');
    const redirectBinding = await fetch(unsigned, { redirect: 'manual' });
    expect(redirectBinding.status).toBe(400);

    const { html } = await s.idp.createLogoutRequest('post', 'alice@example.com', firstIndex);
    const form = formFields(html ?? '');
    const stripped = withoutSignature(xmlOf(form.fields.SAMLRequest ?? ''));
    expect(stripped).not.toContain('Signature');
    const postBinding = await fetch(form.action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ SAMLRequest: Buffer.from(stripped).toString('base64') }).toString(),
      redirect: 'manual',
    });
    expect(postBinding.status).toBe(400);
    expect(await alive(s, firstCookie)).toBe(true);
  });

  it('refuses a replayed LogoutRequest (the same signed URL twice)', async () => {
    const { firstIndex } = await twoSessions();
    const { url, id } = await s.idp.createLogoutRequest('redirect', 'alice@example.com', firstIndex);
    await expectLogoutResponse(await fetch(url ?? '', { redirect: 'manual' }), id);
    const again = await loginEcho(s);
    const replayed = await fetch(url ?? '', { redirect: 'manual' });
    expect(replayed.status).toBe(400);
    expect(await replayed.text()).toContain('ERR_SAML_RESPONSE_INVALID');
    expect(await alive(s, again.jar.header(s.publicUrl))).toBe(true);
  });

  it('refuses a deflate bomb in a Redirect LogoutRequest before inflating more than 64 KiB', async () => {
    const { firstCookie } = await twoSessions();
    // 8 MiB of elements compresses to a few KiB: node-saml would inflate and parse all of it.
    const bomb = `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">${'<x/>'.repeat(2 * 1024 * 1024)}</samlp:LogoutRequest>`;
    const query = new URLSearchParams({
      SAMLRequest: deflateRawSync(bomb, { level: 9 }).toString('base64'),
      SigAlg: RSA_SHA256,
      Signature: 'AAAA',
    });
    expect(query.toString().length).toBeLessThan(16 * 1024);
    const response = await fetch(`${s.publicUrl}/.sluss/saml/slo?${query}`, { redirect: 'manual' });
    expect(response.status).toBe(400);
    expect(lastWarning(s)).toContain('inflates too large');
    expect(await alive(s, firstCookie)).toBe(true);
  });

  it('/.sluss/logout sends a signed LogoutRequest for the NameID and SessionIndex, and ends on logged-out', async () => {
    const { jar } = await loginEcho(s);
    const sessionIndex = s.idp.lastSessionIndex;
    const cookie = jar.header(s.publicUrl);
    const logout = await fetch(`${s.publicUrl}/.sluss/logout`, {
      headers: { cookie: cookie ?? '', 'sec-fetch-site': 'same-origin' },
      redirect: 'manual',
    });
    expect(logout.status).toBe(302);
    const toIdp = new URL(logout.headers.get('location') ?? '');
    expect(`${toIdp.origin}${toIdp.pathname}`).toBe(s.idp.sloUrl);
    expect(toIdp.searchParams.get('SigAlg')).toBe(RSA_SHA256);
    expect(toIdp.searchParams.get('Signature')).toBeTruthy();
    expect(await alive(s, cookie)).toBe(false);

    // The IdP verifies the request (it knows sluss's signing certificate) and answers.
    const atIdp = await fetch(toIdp, { redirect: 'manual' });
    expect(atIdp.status, await atIdp.clone().text()).toBe(302);
    expect(s.idp.logoutRequestsReceived.at(-1)).toMatchObject({ nameId: 'alice@example.com', sessionIndex });
    const back = new URL(atIdp.headers.get('location') ?? '');
    expect(`${back.origin}${back.pathname}`).toBe(`${s.publicUrl}/.sluss/saml/slo`);
    const end = await fetch(back, { redirect: 'manual' });
    expect(end.status).toBe(302);
    expect(end.headers.get('location')).toBe('/.sluss/logged-out');
    // sluss verified the IdP's LogoutResponse rather than just passing it by.
    expect(s.stack.logs.text()).not.toContain('LogoutResponse not from this IdP');
  });
});

describe('SAML with encrypted assertions required', () => {
  let s: SamlStack;
  beforeAll(async () => {
    s = await startSamlStack({ idp: () => ({ requireEncryptedAssertions: true }) });
  });
  afterAll(async () => {
    await s?.close();
  });
  beforeEach(() => s.reset());

  it.each(['aes256-cbc', 'aes128-gcm', 'aes256-gcm'] as const)(
    'accepts an assertion encrypted with %s',
    async (algorithm) => {
      s.idp.options.encryptAssertion = true;
      s.idp.options.dataEncryptionAlgorithm = algorithm;
      const { echo } = await loginEcho(s);
      expect(echo.headers['x-remote-user']).toBe('alice@example.com');
      expect(echo.headers['x-remote-groups']).toBe('a,b,c');
    },
  );

  it.each([
    ['RSA 1.5 key transport (Bleichenbacher padding oracle)', { keyEncryptionAlgorithm: 'rsa-1_5' }],
    ['3DES-CBC content encryption', { dataEncryptionAlgorithm: 'tripledes-cbc' }],
  ] as const)('refuses an assertion encrypted with %s', async (_attack, change) => {
    Object.assign(s.idp.options, { encryptAssertion: true, ...change });
    const refused = await refusedLogin(s);
    expect(refused).toMatchObject({ status: 400, error: 'ERR_SAML_RESPONSE_INVALID' });
    expect(refused.message).toMatch(/RSA 1\.5 or 3DES/);
  });

  it('refuses an unencrypted assertion, even signed', async () => {
    const refused = await refusedLogin(s);
    expect(refused).toMatchObject({ status: 400, error: 'ERR_SAML_RESPONSE_INVALID' });
    expect(refused.message).toMatch(/encrypt/);
  });
});

describe.each([
  ['response', { ok: [{ signAssertion: false }, {}], refused: [{ signResponse: false }] }],
  ['both', { ok: [{}], refused: [{ signResponse: false }, { signAssertion: false }] }],
  ['assertion', { ok: [{ signResponse: false }, {}], refused: [{ signAssertion: false }] }],
] as const)('SAML signatureRequired: %s', (signatureRequired, cases) => {
  let s: SamlStack;
  beforeAll(async () => {
    s = await startSamlStack({ idp: () => ({ signatureRequired }) });
  });
  afterAll(async () => {
    await s?.close();
  });
  beforeEach(() => s.reset());

  it.each(cases.ok.map((c) => [JSON.stringify(c), c] as const))('accepts %s', async (_label, change) => {
    Object.assign(s.idp.options, change);
    await loginEcho(s);
  });
  it.each(cases.refused.map((c) => [JSON.stringify(c), c] as const))('refuses %s', async (_label, change) => {
    Object.assign(s.idp.options, change);
    const refused = await refusedLogin(s);
    expect(refused).toMatchObject({ status: 400, error: 'ERR_SAML_RESPONSE_INVALID' });
    expect(refused.log).toMatch(/signature/i);
  });
});

describe('SAML IdP configured by hand', () => {
  let s: SamlStack;
  beforeAll(async () => {
    s = await startSamlStack({
      idp: (idp) => ({
        metadataUrl: null,
        entityId: idp.entityId,
        ssoUrl: idp.ssoUrl,
        sloUrl: idp.sloUrl,
        signingCerts: [idp.signingCertificatePem],
        forceAuthn: true,
        requestedAuthnContext: [MFA],
        authnContextComparison: 'minimum',
      }),
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('logs in with ForceAuthn and RequestedAuthnContext in the signed AuthnRequest', async () => {
    const { echo, hops } = await loginEcho(s);
    expect(echo.headers['x-remote-user']).toBe('alice@example.com');
    const { request, url } = lastAuthnRequest(s, hops);
    expect(request.signed).toBe(true);
    expect(url.searchParams.get('SigAlg')).toBe(RSA_SHA256);
    expect(request.xml).toContain('ForceAuthn="true"');
    expect(request.xml).toMatch(/<(\w+:)?RequestedAuthnContext[^>]*Comparison="minimum"/);
    expect(request.xml).toContain(`>${MFA}</`);
  });

  it('ends the session on an IdP LogoutRequest to the configured sloUrl', async () => {
    const { jar } = await loginEcho(s);
    const { url } = await s.idp.createLogoutRequest('redirect', 'alice@example.com', s.idp.lastSessionIndex);
    const response = await fetch(url ?? '', { redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')?.startsWith(`${s.idp.sloUrl}?`)).toBe(true);
    expect(await alive(s, jar.header(s.publicUrl))).toBe(false);
  });
});

describe.each(['sha256', 'sha1'] as const)('SAML IdP pinned by %s certificate fingerprint', (algorithm) => {
  let s: SamlStack;
  beforeAll(async () => {
    s = await startSamlStack({
      idp: (idp) => ({
        metadataUrl: null,
        entityId: idp.entityId,
        ssoUrl: idp.ssoUrl,
        sloUrl: idp.sloUrl,
        signingCertFingerprints: [
          `${algorithm}:${algorithm === 'sha256' ? idp.sha256Fingerprint : idp.sha1Fingerprint}`,
        ],
      }),
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('logs in with the certificate the response carries', async () => {
    const { echo } = await loginEcho(s);
    expect(echo.headers['x-remote-user']).toBe('alice@example.com');
  });

  it('verifies Redirect-binding LogoutRequests with the pinned certificate learnt at login', async () => {
    const { jar } = await loginEcho(s);
    const { url, id } = await s.idp.createLogoutRequest(
      'redirect',
      'alice@example.com',
      s.idp.lastSessionIndex,
    );
    const response = await fetch(url ?? '', { redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')?.startsWith(`${s.idp.sloUrl}?`)).toBe(true);
    expect(await alive(s, jar.header(s.publicUrl))).toBe(false);
    const atIdp = await fetch(response.headers.get('location') ?? '');
    expect(atIdp.status).toBe(200);
    expect(s.idp.logoutResponsesReceived.at(-1)?.inResponseTo).toBe(id);
  });

  it('refuses a response signed by a certificate with another fingerprint', async () => {
    const other = await startSamlIdp({ ...structuredClone(s.idp.options) });
    try {
      const jar = new CookieJar();
      const idpUrl = await beginLogin(s, jar);
      const requestId = authnRequestId(idpUrl);
      const forged = xmlOf(await other.createResponse(requestId)).replaceAll(other.entityId, s.idp.entityId);
      const response = await postAcs(
        s,
        {
          SAMLResponse: Buffer.from(forged).toString('base64'),
          RelayState: idpUrl.searchParams.get('RelayState') ?? '',
        },
        jar.header(s.publicUrl),
      );
      expect(response.status).toBe(400);
      expect(lastWarning(s)).toMatch(/pinned IdP certificate/);
    } finally {
      await other.close();
    }
  });
});

describe('SAML IdP-initiated login allowed', () => {
  let s: SamlStack;
  beforeAll(async () => {
    s = await startSamlStack({
      idp: () => ({ allowIdpInitiated: true, idpInitiatedLandingPath: '/echo/landing' }),
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  async function idpInitiated(relayState?: string) {
    const jar = new CookieJar();
    const url = new URL(s.idp.idpInitiatedUrl);
    if (relayState !== undefined) url.searchParams.set('RelayState', relayState);
    const result = await loginThroughOp(url.href, jar, { login: '', password: '' });
    return { jar, ...result };
  }

  it('lands on the configured landing path without a RelayState', async () => {
    const { hops, response } = await idpInitiated();
    expect(response.status).toBe(200);
    expect(hops.at(-1)).toBe(`${s.publicUrl}/echo/landing`);
    expect(((await response.json()) as Echo).headers['x-remote-user']).toBe('alice@example.com');
  });

  it('honours a same-origin RelayState path', async () => {
    const { hops, response } = await idpInitiated('/echo/deep/link?x=1');
    expect(response.status).toBe(200);
    expect(hops.at(-1)).toBe(`${s.publicUrl}/echo/deep/link?x=1`);
  });

  it.each(['https://evil.example/phish', '//evil.example/phish', '/\\evil.example', 'javascript:alert(1)'])(
    'ignores the off-site RelayState %s',
    async (relayState) => {
      const { hops, response } = await idpInitiated(relayState);
      expect(response.status).toBe(200);
      expect(hops.at(-1)).toBe(`${s.publicUrl}/echo/landing`);
    },
  );

  it('refuses an unsolicited response posted twice', async () => {
    const fields = await idpAnswer(s.idp.idpInitiatedUrl);
    const first = await postAcs(s, fields);
    expect(first.status).toBe(302);
    const second = await postAcs(s, fields);
    expect(second.status).toBe(400);
    expect(lastWarning(s)).toMatch(/already used \(replay\)/);
  });

  it('still logs in SP-initiated, binding the response to the request', async () => {
    const { echo } = await loginEcho(s);
    expect(echo.url).toBe('/echo/protected');
  });
});

/** Serves the IdP's metadata (or a failure, or a tampered copy) at a URL the test controls. */
async function startMetadataProxy(source: () => string) {
  const state = { mode: 'ok' as 'ok' | 'fail' | 'tamper', hits: 0 };
  const server: Server = createServer(async (_req, res) => {
    state.hits++;
    if (state.mode === 'fail') {
      res.writeHead(500).end('down');
      return;
    }
    const response = await fetch(source());
    let xml = await response.text();
    if (state.mode === 'tamper') xml = xml.replaceAll('/sso"', '/sso-evil"');
    res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' }).end(xml);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metadata`,
    state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('SAML IdP metadata refresh', () => {
  let s: SamlStack;
  let proxy: Awaited<ReturnType<typeof startMetadataProxy>>;
  const clock = new ManualClock(Date.now());
  beforeAll(async () => {
    let metadataUrl = '';
    proxy = await startMetadataProxy(() => metadataUrl);
    s = await startSamlStack({
      clock,
      idp: (idp) => {
        metadataUrl = idp.metadataUrl;
        return { metadataUrl: proxy.url, metadataRefreshSeconds: 60 };
      },
    });
  });
  afterAll(async () => {
    await s?.close();
    await proxy?.close();
  });

  it('keeps the last good copy when the metadata URL starts failing', async () => {
    await loginEcho(s);
    const hits = proxy.state.hits;
    expect(hits).toBeGreaterThanOrEqual(1);
    proxy.state.mode = 'fail';
    clock.advance(61_000);
    await loginEcho(s); // triggers the (failing) refresh
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(proxy.state.hits).toBeGreaterThan(hits);
    clock.advance(61_000);
    await loginEcho(s);
    await loginEcho(s);
  });
});

describe('SAML IdP metadata without a good copy', () => {
  it('cannot log in while the metadata URL fails', async () => {
    const proxy = await startMetadataProxy(() => '');
    proxy.state.mode = 'fail';
    const s = await startSamlStack({ idp: () => ({ metadataUrl: proxy.url }) });
    try {
      const { response } = await samlLogin(s);
      expect(response.status).toBe(503);
      expect(((await response.json()) as { error: string }).error).toBe('ERR_IDP_UNAVAILABLE');
    } finally {
      await s.close();
      await proxy.close();
    }
  });
});

describe('SAML IdP metadata when the signing key is pinned', () => {
  it('refuses unsigned metadata and accepts it once signed by the pinned certificate', async () => {
    const clock = new ManualClock(Date.now());
    const s = await startSamlStack({
      clock,
      idp: (idp) => ({ signingCerts: [idp.signingCertificatePem] }),
    });
    try {
      const { response } = await samlLogin(s);
      expect(response.status).toBe(503);
      s.idp.options.signMetadata = true;
      clock.advance(6_000); // past the retry pause after a failed fetch
      const { echo } = await loginEcho(s);
      expect(echo.headers['x-remote-user']).toBe('alice@example.com');
    } finally {
      await s.close();
    }
  });

  it('refuses signed metadata when the pinned fingerprint is of another certificate', async () => {
    const s = await startSamlStack({
      idpOptions: { signMetadata: true },
      idp: () => ({ signingCertFingerprints: [`sha256:${stranger.sha256Fingerprint}`] }),
    });
    try {
      const { response } = await samlLogin(s);
      expect(response.status).toBe(503);
    } finally {
      await s.close();
    }
  });

  it('refuses signed metadata that was altered on the way', async () => {
    let metadataUrl = '';
    const proxy = await startMetadataProxy(() => metadataUrl);
    proxy.state.mode = 'tamper';
    const s = await startSamlStack({
      idpOptions: { signMetadata: true },
      idp: (idp) => {
        metadataUrl = idp.metadataUrl;
        return { metadataUrl: proxy.url, signingCertFingerprints: [`sha256:${idp.sha256Fingerprint}`] };
      },
    });
    try {
      const { response, hops } = await samlLogin(s);
      expect(response.status).toBe(503);
      expect(hops.some((h) => h.includes('/sso-evil'))).toBe(false);
    } finally {
      await s.close();
      await proxy.close();
    }
  });
});

describe('SAML without SP keys', () => {
  let s: SamlStack;
  beforeAll(async () => {
    s = await startSamlStack({ withoutSpKeys: true });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('sends an unsigned AuthnRequest, still logs in, and logs out locally only', async () => {
    const { hops, jar } = await loginEcho(s);
    const { request, url } = lastAuthnRequest(s, hops);
    expect(request.signed).toBe(false);
    expect(url.searchParams.has('Signature')).toBe(false);
    const cookie = jar.header(s.publicUrl);
    const logout = await fetch(`${s.publicUrl}/.sluss/logout`, {
      headers: { cookie: cookie ?? '', 'sec-fetch-site': 'same-origin' },
      redirect: 'manual',
    });
    expect(logout.status).toBe(302);
    expect(logout.headers.get('location')).toBe('/.sluss/logged-out');
    expect(await alive(s, cookie)).toBe(false);
  });

  it('publishes metadata without key descriptors', async () => {
    const xml = await (await fetch(`${s.publicUrl}/.sluss/saml/metadata`)).text();
    expect(xml).toContain(`entityID="${s.publicUrl}/.sluss/saml/metadata"`);
    expect(xml).not.toContain('KeyDescriptor');
  });
});

// The SAML attribute shapes of Entra ID, AD FS, Okta, Keycloak and Shibboleth/SimpleSAMLphp
// (test/fixtures/claim-shapes.ts) through a real login with each mapping preset.
const SAML_CASES = PRESET_CASES.filter(
  (c) => c.claims.name_id_format !== undefined && !c.expected.groupsOverage,
);
/** Claims saml-sp.ts takes from the message itself (NameID, issuer), not from attributes. */
const MESSAGE_CLAIMS = new Set(['sub', 'iss', 'name_id_format']);
/** Convenience claims saml-sp.ts derives; in a fixture they are attributes only when no other attribute holds the value. */
const CONVENIENCE_CLAIMS = new Set(['email', 'given_name', 'family_name', 'groups']);

function derivedByTheSp(claims: Record<string, unknown>, name: string): boolean {
  if (MESSAGE_CLAIMS.has(name)) return true;
  if (!CONVENIENCE_CLAIMS.has(name)) return false;
  const value = JSON.stringify(claims[name]);
  return Object.entries(claims).some(
    ([other, otherValue]) =>
      other !== name && !MESSAGE_CLAIMS.has(other) && JSON.stringify(otherValue) === value,
  );
}
const NAME_ID_FORMATS = {
  'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent': 'persistent',
  'urn:oasis:names:tc:SAML:2.0:nameid-format:transient': 'transient',
  'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified': 'unspecified',
  'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress': 'email',
} as const;

function samlUserWithShape(claims: Record<string, unknown>): SamlUser {
  const attributes: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(claims)) {
    if (value === undefined || derivedByTheSp(claims, name)) continue;
    attributes[name] = Array.isArray(value) ? value.map(String) : String(value);
  }
  return {
    nameId: String(claims.sub),
    nameIdFormat: NAME_ID_FORMATS[String(claims.name_id_format) as keyof typeof NAME_ID_FORMATS],
    attributes,
  };
}

describe.each([...new Set(SAML_CASES.map((c) => c.preset))])(
  'SAML mapping preset %s through a real login',
  (preset) => {
    let s: SamlStack;
    beforeAll(async () => {
      s = await startSamlStack({ idp: () => ({ mapping: { preset } }) });
    });
    afterAll(async () => {
      await s?.close();
    });
    beforeEach(() => s.reset());

    it.each(SAML_CASES.filter((c) => c.preset === preset))('$name', async ({ claims, expected }) => {
      s.idp.user = samlUserWithShape(claims);
      const { echo } = await loginEcho(s);
      const mapped = mappedFromJwt(String(echo.headers[JWT_HEADER] ?? ''));
      // Attribute order in the assertion is the IdP's: compare groups as a set.
      const sorted = (groups: readonly string[] | undefined) =>
        groups ? { groups: [...groups].sort() } : {};
      expect({ ...mapped, ...sorted(mapped.groups) }).toMatchObject({
        ...withoutFlags(expected),
        ...sorted(expected.groups),
      });
      expect(echo.headers['x-remote-user']).toBe(expected.idpUserId);
    });
  },
);
