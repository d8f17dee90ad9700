/**
 * sluss as SAML SP under attack (issue 4 "Must show"). Every hostile SAMLResponse is
 * built from a real one: a real SP-initiated login starts at sluss (its AuthnRequest
 * ID, RelayState and transaction cookie), the test IdP (test/support/saml-idp.ts)
 * answers it with a Response signed by its own key, and
 * test/fixtures/saml/attacks.ts transforms that Response. Each attack is then
 * POSTed to the ACS the way the browser would, and must end on sluss's error page
 * with the expected code, no session cookie, and nothing reaching the upstream (the
 * redirect, if any, is followed).
 *
 * Rigs (one IdP + one sluss stack each, started on first use) differ only in the
 * IdP entry: signatureRequired assertion / response / both, IdP-initiated login on,
 * encrypted assertions required, and "resigned", which trusts a key this file holds
 * so that hostile content can carry a VALID signature (comment injection, a wrong
 * Recipient or Destination while everything else is right, message-type confusion).
 * Each rig has a control: the unmodified response logs in.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inflateRawSync } from 'node:zlib';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  corruptSignatureValues,
  dtdAttacks,
  EVIL_NAME_ID,
  fromBase64,
  injectNameIdComment,
  logoutResponseXml,
  NS,
  replaceKeyInfoCertificates,
  setAttributeOn,
  setIssuer,
  signLikeIdp,
  signRoot,
  stripSignature,
  toBase64,
  utf16WithDoctype,
  withDoctype,
  withXInclude,
  withXsltTransform,
  XSW,
  type XswVariant,
} from '../fixtures/saml/attacks.ts';
import { generateKeyPairWithCertificate } from '../support/certificates.ts';
import {
  type RunningSamlIdp,
  type SamlIdpOptions,
  type SamlUser,
  startSamlIdp,
} from '../support/saml-idp.ts';
import { freePort, type Stack, startStack } from '../support/sluss-stack.ts';

const PROTECTED = '/echo/protected';
const SESSION_COOKIE = '__Host-sluss';
const TXN_PREFIX = `${SESSION_COOKIE}-txn-`;
/** What a browser sends on a top-level navigation (Fetch Metadata). */
const NAVIGATE = { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
const STATUS = {
  success: 'urn:oasis:names:tc:SAML:2.0:status:Success',
  responder: 'urn:oasis:names:tc:SAML:2.0:status:Responder',
  requester: 'urn:oasis:names:tc:SAML:2.0:status:Requester',
  authnFailed: 'urn:oasis:names:tc:SAML:2.0:status:AuthnFailed',
  requestDenied: 'urn:oasis:names:tc:SAML:2.0:status:RequestDenied',
} as const;

const ALICE: SamlUser = {
  nameId: 'alice@corp.example',
  nameIdFormat: 'email',
  attributes: { email: 'alice@corp.example', givenName: 'Alice', sn: 'Andersson', groups: ['staff'] },
};

/** sluss's own SP keys (AuthnRequest signing, assertion decryption). */
const SP_SIGNING = generateKeyPairWithCertificate('sluss test SP signing');
const SP_ENCRYPTION = generateKeyPairWithCertificate('sluss test SP encryption');
/** Trusted only by the "resigned" rig: stands in for the IdP key where a fixture must be signed after editing. */
const RESIGNER = generateKeyPairWithCertificate('sluss test IdP (resigning key)');
/** Trusted by nobody. */
const ATTACKER = generateKeyPairWithCertificate('attacker');

// ---------------------------------------------------------------------------------------
// Rigs

type RigName =
  | 'assertion'
  | 'response'
  | 'both'
  | 'idpInitiated'
  | 'encrypted'
  | 'encryptedBoth'
  | 'resigned';
type SignatureRequired = 'assertion' | 'response' | 'both';

const RIGS: Readonly<Record<RigName, { idp: Record<string, unknown>; trust: 'idp' | 'resigner' }>> = {
  assertion: { idp: { signatureRequired: 'assertion' }, trust: 'idp' },
  response: { idp: { signatureRequired: 'response' }, trust: 'idp' },
  both: { idp: { signatureRequired: 'both' }, trust: 'idp' },
  idpInitiated: { idp: { signatureRequired: 'assertion', allowIdpInitiated: true }, trust: 'idp' },
  encrypted: { idp: { signatureRequired: 'assertion', requireEncryptedAssertions: true }, trust: 'idp' },
  encryptedBoth: { idp: { signatureRequired: 'both', requireEncryptedAssertions: true }, trust: 'idp' },
  resigned: { idp: { signatureRequired: 'both' }, trust: 'resigner' },
};

interface Rig {
  readonly name: RigName;
  readonly idp: RunningSamlIdp;
  readonly stack: Stack;
  readonly sp: SamlIdpOptions['sp'];
  readonly trust: 'idp' | 'resigner';
}

async function startRig(name: RigName): Promise<Rig> {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const sp = {
    entityId: `${publicUrl}/.sluss/saml/metadata`,
    acsUrl: `${publicUrl}/.sluss/saml/acs`,
    sloUrl: `${publicUrl}/.sluss/saml/slo`,
    signingCertificatePem: SP_SIGNING.certificatePem,
    encryptionCertificatePem: SP_ENCRYPTION.certificatePem,
  };
  const idp = await startSamlIdp({ sp, user: ALICE });
  const { trust } = RIGS[name];
  const stack = await startStack({
    port,
    idp: {
      type: 'saml',
      issuer: null,
      clientId: null,
      clientSecret: null,
      scopes: null,
      id: 'corp-saml',
      mapping: { required: [] },
      entityId: idp.entityId,
      ssoUrl: idp.ssoUrl,
      sloUrl: idp.sloUrl,
      nameIdFormat: 'email',
      signingCerts: [trust === 'idp' ? idp.signingCertificatePem : RESIGNER.certificatePem],
      ...RIGS[name].idp,
    },
    tenant: {
      saml: {
        signingKey: SP_SIGNING.privateKeyPem,
        signingCert: SP_SIGNING.certificatePem,
        encryptionKey: SP_ENCRYPTION.privateKeyPem,
        encryptionCert: SP_ENCRYPTION.certificatePem,
      },
    },
  });
  expect(stack.publicUrl).toBe(publicUrl);
  return { name, idp, stack, sp, trust };
}

const rigs = new Map<RigName, Promise<Rig>>();
function rig(name: RigName): Promise<Rig> {
  let started = rigs.get(name);
  if (!started) {
    started = startRig(name);
    rigs.set(name, started);
  }
  return started;
}

afterAll(async () => {
  for (const started of rigs.values()) {
    const { stack, idp } = await started;
    await stack.close();
    await idp.close();
  }
});

// ---------------------------------------------------------------------------------------
// A browser's side of the flow

interface Login {
  /** `name=value` of the login transaction cookie. */
  readonly cookie: string;
  readonly relayState: string;
  readonly requestId: string;
  readonly authnRequestXml: string;
}

function setCookieLines(headers: Record<string, string | string[] | undefined>): string[] {
  const value = headers['set-cookie'];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** GET /.sluss/login like a browser; reads the AuthnRequest sluss sends the IdP. */
async function startLogin(r: Rig): Promise<Login> {
  const res = await request(`${r.stack.publicUrl}/.sluss/login?rd=${encodeURIComponent(PROTECTED)}`, {
    headers: NAVIGATE,
  });
  await res.body.dump();
  expect(res.statusCode).toBe(302);
  const location = new URL(String(res.headers.location));
  expect(location.origin + location.pathname).toBe(r.idp.ssoUrl);
  const cookie = setCookieLines(res.headers)
    .map((line) => line.split(';')[0] ?? '')
    .find((pair) => pair.startsWith(TXN_PREFIX));
  const relayState = location.searchParams.get('RelayState');
  const samlRequest = location.searchParams.get('SAMLRequest');
  if (!cookie || !relayState || !samlRequest) throw new Error(`login did not start: ${location.href}`);
  const authnRequestXml = inflateRawSync(Buffer.from(samlRequest, 'base64')).toString('utf8');
  const requestId = /<(?:\w+:)?AuthnRequest\b[^>]*\bID="([^"]+)"/.exec(authnRequestXml)?.[1];
  if (!requestId) throw new Error(`no AuthnRequest ID in ${authnRequestXml}`);
  return { cookie, relayState, requestId, authnRequestXml };
}

interface Post {
  readonly SAMLResponse: string;
  /** Default: the login's RelayState; null: none sent. */
  readonly RelayState?: string | null;
  /** Default: the login's transaction cookie; null: none sent. */
  readonly cookie?: string | null;
}

interface Outcome {
  readonly status: number;
  readonly code: string | undefined;
  readonly sessionCookie: boolean;
  /** What reached the upstream during this POST and the redirect it led to. */
  readonly upstream: { url: string; remoteUser: string | undefined }[];
  readonly text: string;
}

/** POSTs to the ACS like the IdP's auto-submitting form, then follows a redirect like a browser. */
async function postAcs(r: Rig, login: Login | undefined, post: Post): Promise<Outcome> {
  const before = r.stack.upstream.requests.length;
  const form = new URLSearchParams({ SAMLResponse: post.SAMLResponse });
  const relayState = post.RelayState === undefined ? login?.relayState : post.RelayState;
  if (relayState) form.set('RelayState', relayState);
  const cookie = post.cookie === undefined ? login?.cookie : post.cookie;
  const res = await request(r.sp.acsUrl, {
    method: 'POST',
    headers: {
      ...NAVIGATE,
      'content-type': 'application/x-www-form-urlencoded',
      origin: new URL(r.idp.ssoUrl).origin,
      ...(cookie ? { cookie } : {}),
    },
    body: form.toString(),
  });
  const text = await res.body.text();
  const cookies = setCookieLines(res.headers).map((line) => line.split(';')[0] ?? '');
  const sessionCookie = cookies.some((pair) => pair.startsWith(`${SESSION_COOKIE}=`) && pair.length > 14);
  if (res.statusCode === 302 && res.headers.location) {
    const next = new URL(String(res.headers.location), r.stack.publicUrl);
    if (next.origin === r.stack.publicUrl) {
      const jar = cookies.filter((pair) => !pair.endsWith('='));
      const follow = await request(next, {
        headers: { ...NAVIGATE, ...(jar.length > 0 ? { cookie: jar.join('; ') } : {}) },
      });
      await follow.body.dump();
    }
  }
  const upstream = r.stack.upstream.requests.slice(before).map((seen) => ({
    url: seen.url,
    remoteUser: typeof seen.headers['x-remote-user'] === 'string' ? seen.headers['x-remote-user'] : undefined,
  }));
  return {
    status: res.statusCode,
    code: /<code>(ERR_[A-Z_]+)<\/code>/.exec(text)?.[1],
    sessionCookie,
    upstream,
    text,
  };
}

function expectRefused(outcome: Outcome, code: string, status = 400): void {
  expect({
    status: outcome.status,
    code: outcome.code,
    sessionCookie: outcome.sessionCookie,
    upstream: outcome.upstream,
  }).toEqual({ status, code, sessionCookie: false, upstream: [] });
}

function expectLoggedIn(outcome: Outcome, nameId = ALICE.nameId): void {
  expect({
    status: outcome.status,
    sessionCookie: outcome.sessionCookie,
    upstream: outcome.upstream,
  }).toEqual({ status: 302, sessionCookie: true, upstream: [{ url: PROTECTED, remoteUser: nameId }] });
}

// ---------------------------------------------------------------------------------------
// Building responses

interface Build {
  /** Which parts the rig's trusted key signs (default: both, as the test IdP does). */
  readonly sign?: { assertion: boolean; response: boolean };
  readonly overrides?: Partial<SamlIdpOptions>;
  /** Edits the XML BEFORE it is signed: only on the "resigned" rig, whose key this file holds. */
  readonly beforeSigning?: (xml: string) => string;
}

/** The Response XML the rig's trusted IdP key produces for `inResponseTo`. */
async function idpXml(r: Rig, inResponseTo: string | undefined, build: Build = {}): Promise<string> {
  const sign = build.sign ?? { assertion: true, response: true };
  if (r.trust === 'idp') {
    if (build.beforeSigning) throw new Error('beforeSigning needs the resigned rig');
    return fromBase64(
      await r.idp.createResponse(inResponseTo, {
        ...build.overrides,
        signAssertion: sign.assertion,
        signResponse: sign.response,
      }),
    );
  }
  if (build.overrides?.encryptAssertion) throw new Error('the resigned rig does not encrypt');
  const unsigned = fromBase64(
    await r.idp.createResponse(inResponseTo, {
      ...build.overrides,
      signAssertion: false,
      signResponse: false,
    }),
  );
  return signLikeIdp((build.beforeSigning ?? ((xml) => xml))(unsigned), RESIGNER, sign);
}

const CONFIGS: readonly SignatureRequired[] = ['assertion', 'response', 'both'];

// ---------------------------------------------------------------------------------------

describe('controls: the unmodified IdP response logs in on every rig', () => {
  it.each<[RigName]>([
    ['assertion'],
    ['response'],
    ['both'],
    ['idpInitiated'],
    ['encrypted'],
    ['encryptedBoth'],
    ['resigned'],
  ])('%s', async (name) => {
    const r = await rig(name);
    const login = await startLogin(r);
    const encryptAssertion = name === 'encrypted' || name === 'encryptedBoth';
    const xml = await idpXml(r, login.requestId, { overrides: { encryptAssertion } });
    expectLoggedIn(await postAcs(r, login, { SAMLResponse: toBase64(xml) }));
  });
});

describe('signatures: missing, stripped, broken, or by an untrusted key', () => {
  type Source = (r: Rig, login: Login) => Promise<string>;
  const SOURCES: Record<string, { build: Source; validUnder: readonly SignatureRequired[] }> = {
    'IdP signs only the response (assertion unsigned)': {
      build: (r, l) => idpXml(r, l.requestId, { sign: { assertion: false, response: true } }),
      validUnder: ['response'],
    },
    'IdP signs only the assertion (response unsigned)': {
      build: (r, l) => idpXml(r, l.requestId, { sign: { assertion: true, response: false } }),
      validUnder: ['assertion'],
    },
    'IdP signs nothing': {
      build: (r, l) => idpXml(r, l.requestId, { sign: { assertion: false, response: false } }),
      validUnder: [],
    },
    'response signature stripped (assertion signature intact)': {
      build: async (r, l) => stripSignature(await idpXml(r, l.requestId), 'response'),
      validUnder: ['assertion'],
    },
    'assertion signature stripped (breaks the response digest)': {
      build: async (r, l) => stripSignature(await idpXml(r, l.requestId), 'assertion'),
      validUnder: [],
    },
    'both signatures stripped': {
      build: async (r, l) => stripSignature(await idpXml(r, l.requestId), 'both'),
      validUnder: [],
    },
    'SignatureValues corrupted (content untouched)': {
      build: async (r, l) => corruptSignatureValues(await idpXml(r, l.requestId)),
      validUnder: [],
    },
    'assertion unsigned, evil NameID, response signature stripped': {
      build: async (r, l) =>
        stripSignature(
          (await idpXml(r, l.requestId, { sign: { assertion: false, response: false } })).replace(
            ALICE.nameId,
            EVIL_NAME_ID,
          ),
          'both',
        ),
      validUnder: [],
    },
    'signed by an untrusted key (attacker certificate in KeyInfo)': {
      build: async (r, l) =>
        signLikeIdp(await idpXml(r, l.requestId, { sign: { assertion: false, response: false } }), ATTACKER, {
          assertion: true,
          response: true,
        }),
      validUnder: [],
    },
    'signed by an untrusted key, KeyInfo claiming the trusted IdP certificate': {
      build: async (r, l) =>
        replaceKeyInfoCertificates(
          signLikeIdp(
            await idpXml(r, l.requestId, { sign: { assertion: false, response: false } }),
            ATTACKER,
            { assertion: true, response: true },
          ),
          r.idp.signingCertificatePem.replace(/-----[^-]+-----|\s/g, ''),
        ),
      validUnder: [],
    },
  };
  const cases = Object.entries(SOURCES).flatMap(([name, source]) =>
    CONFIGS.map((config) => [name, config, source.validUnder.includes(config)] as const),
  );

  it.each(cases)('%s, signatureRequired: %s → accepted: %s', async (name, config, valid) => {
    const source = SOURCES[name];
    if (!source) throw new Error(name);
    const r = await rig(config);
    const login = await startLogin(r);
    const outcome = await postAcs(r, login, { SAMLResponse: toBase64(await source.build(r, login)) });
    if (valid) expectLoggedIn(outcome);
    else expectRefused(outcome, 'ERR_SAML_RESPONSE_INVALID');
  });
});

describe('XML Signature Wrapping XSW1–XSW8 (Somorovsky et al., USENIX Security 2012)', () => {
  const VARIANTS = Object.keys(XSW) as XswVariant[];
  // Each variant is applied to a response where the IdP signed both parts, and to one
  // where it signed only the part the variant targets; each under every signatureRequired.
  const cases = VARIANTS.flatMap((variant) =>
    (['both signed', 'only the target signed'] as const).flatMap((source) =>
      CONFIGS.map((config) => [variant, source, config] as const),
    ),
  );

  it.each(cases)('%s on a response with %s, signatureRequired: %s', async (variant, source, config) => {
    const attack = XSW[variant];
    const r = await rig(config);
    const login = await startLogin(r);
    const sign =
      source === 'both signed'
        ? { assertion: true, response: true }
        : { assertion: attack.target === 'assertion', response: attack.target === 'response' };
    const wrapped = attack.apply(await idpXml(r, login.requestId, { sign }));
    expect(wrapped).toContain(EVIL_NAME_ID);
    expect(wrapped).toContain(ALICE.nameId);
    expectRefused(await postAcs(r, login, { SAMLResponse: toBase64(wrapped) }), 'ERR_SAML_RESPONSE_INVALID');
  });
});

describe('comment injection into the NameID (signed after the comment was inserted)', () => {
  it('user@evil.com<!---->.example.com is refused or delivered whole, never truncated', async () => {
    const r = await rig('resigned');
    const login = await startLogin(r);
    const user: SamlUser = { nameId: 'user@evil.com.example.com', nameIdFormat: 'email', attributes: {} };
    const xml = await idpXml(r, login.requestId, {
      overrides: { user },
      beforeSigning: (unsigned) => injectNameIdComment(unsigned, 'user@evil.com', '.example.com'),
    });
    expect(xml).toContain('user@evil.com<!---->.example.com');
    const outcome = await postAcs(r, login, { SAMLResponse: toBase64(xml) });
    if (outcome.sessionCookie || outcome.upstream.length > 0) {
      expectLoggedIn(outcome, 'user@evil.com.example.com');
    } else {
      expectRefused(outcome, 'ERR_SAML_RESPONSE_INVALID');
    }
  });
});

describe('conditions: time window, audience, recipient, destination, issuer', () => {
  const SKEW = 60;
  const LIFETIME = 300;
  type Case = readonly [name: string, rig: RigName, build: (r: Rig, login: Login) => Promise<string>];
  const OTHER_IDP = 'https://other-idp.example/metadata';
  const otherSp = (r: Rig) => ({ ...r.sp, entityId: 'https://other-sp.example/saml/metadata' });
  const CASES: Case[] = [
    [
      'expired: NotOnOrAfter 2 minutes in the past (beyond the 60 s skew)',
      'assertion',
      (r, l) =>
        idpXml(r, l.requestId, {
          overrides: { timeOffsetSeconds: -(LIFETIME + SKEW + 60), assertionLifetimeSeconds: LIFETIME },
        }),
    ],
    [
      'expired long ago: issued a day ago',
      'assertion',
      (r, l) => idpXml(r, l.requestId, { overrides: { timeOffsetSeconds: -86_400 } }),
    ],
    [
      'not yet valid: NotBefore 2 minutes in the future (beyond the 60 s skew)',
      'assertion',
      // The IdP writes NotBefore = issue instant - 30 s.
      (r, l) => idpXml(r, l.requestId, { overrides: { timeOffsetSeconds: 30 + SKEW + 60 } }),
    ],
    [
      'wrong audience (another SP entity ID)',
      'assertion',
      (r, l) => idpXml(r, l.requestId, { overrides: { sp: otherSp(r) } }),
    ],
    [
      'wrong audience, signatureRequired: both',
      'both',
      (r, l) => idpXml(r, l.requestId, { overrides: { sp: otherSp(r) } }),
    ],
    [
      "meant for another SP's ACS (Destination and Recipient)",
      'assertion',
      (r, l) =>
        idpXml(r, l.requestId, {
          overrides: { sp: { ...r.sp, acsUrl: 'https://other-sp.example/saml/acs' } },
        }),
    ],
    [
      'wrong Recipient only (validly signed)',
      'resigned',
      (r, l) =>
        idpXml(r, l.requestId, {
          beforeSigning: (xml) =>
            setAttributeOn(
              xml,
              NS.assertion,
              'SubjectConfirmationData',
              'Recipient',
              'https://other-sp.example/saml/acs',
            ),
        }),
    ],
    [
      'no Recipient at all (validly signed)',
      'resigned',
      (r, l) =>
        idpXml(r, l.requestId, {
          beforeSigning: (xml) =>
            setAttributeOn(xml, NS.assertion, 'SubjectConfirmationData', 'Recipient', null),
        }),
    ],
    [
      'wrong Destination only (validly signed)',
      'resigned',
      (r, l) =>
        idpXml(r, l.requestId, {
          beforeSigning: (xml) =>
            setAttributeOn(xml, NS.protocol, 'Response', 'Destination', 'https://other-sp.example/saml/acs'),
        }),
    ],
    [
      'SubjectConfirmationData expired while Conditions are valid (validly signed)',
      'resigned',
      (r, l) =>
        idpXml(r, l.requestId, {
          beforeSigning: (xml) =>
            setAttributeOn(
              xml,
              NS.assertion,
              'SubjectConfirmationData',
              'NotOnOrAfter',
              new Date(Date.now() - 10 * 60_000).toISOString(),
            ),
        }),
    ],
    [
      'Conditions expired while SubjectConfirmationData is valid (validly signed)',
      'resigned',
      (r, l) =>
        idpXml(r, l.requestId, {
          beforeSigning: (xml) =>
            setAttributeOn(
              xml,
              NS.assertion,
              'Conditions',
              'NotOnOrAfter',
              new Date(Date.now() - 10 * 60_000).toISOString(),
            ),
        }),
    ],
    [
      'Issuer of another IdP in Response and Assertion (validly signed)',
      'resigned',
      (r, l) =>
        idpXml(r, l.requestId, {
          beforeSigning: (xml) => setIssuer(xml, OTHER_IDP, 'both'),
        }),
    ],
    [
      'Issuer of another IdP in the Assertion only (validly signed)',
      'resigned',
      (r, l) =>
        idpXml(r, l.requestId, {
          beforeSigning: (xml) => setIssuer(xml, OTHER_IDP, 'assertion'),
        }),
    ],
    [
      'Issuer of another IdP in the Response only (validly signed)',
      'resigned',
      (r, l) =>
        idpXml(r, l.requestId, {
          beforeSigning: (xml) => setIssuer(xml, OTHER_IDP, 'response'),
        }),
    ],
    [
      "assertion's InResponseTo names another request than the Response's (validly signed)",
      'resigned',
      (r, l) =>
        idpXml(r, l.requestId, {
          beforeSigning: (xml) =>
            setAttributeOn(xml, NS.assertion, 'SubjectConfirmationData', 'InResponseTo', '_someoneelse'),
        }),
    ],
  ];

  it.each(CASES)('%s', async (_name, rigName, build) => {
    const r = await rig(rigName);
    const login = await startLogin(r);
    expectRefused(
      await postAcs(r, login, { SAMLResponse: toBase64(await build(r, login)) }),
      'ERR_SAML_RESPONSE_INVALID',
    );
  });
});

describe('InResponseTo and unsolicited responses', () => {
  it('a response to a second login (outstanding, but not this browser’s) is refused', async () => {
    const r = await rig('assertion');
    const mine = await startLogin(r);
    const other = await startLogin(r);
    const xml = await idpXml(r, other.requestId);
    expectRefused(await postAcs(r, mine, { SAMLResponse: toBase64(xml) }), 'ERR_SAML_RESPONSE_INVALID');
  });

  it.each<[string, RigName, (login: Login) => Post]>([
    ['with the browser’s login', 'assertion', () => ({ SAMLResponse: '' })],
    [
      'without any login (no cookie, no RelayState)',
      'assertion',
      () => ({ SAMLResponse: '', cookie: null, RelayState: null }),
    ],
    [
      'IdP-initiated allowed, without any login',
      'idpInitiated',
      () => ({ SAMLResponse: '', cookie: null, RelayState: null }),
    ],
  ])('InResponseTo for no outstanding request, %s, is refused', async (_name, rigName, post) => {
    const r = await rig(rigName);
    const login = await startLogin(r);
    const xml = await idpXml(r, '_0123456789abcdef0123456789abcdef');
    expectRefused(
      await postAcs(r, login, { ...post(login), SAMLResponse: toBase64(xml) }),
      'ERR_SAML_RESPONSE_INVALID',
    );
  });

  it.each<[string, (login: Login) => Post]>([
    ['posted into the browser’s login', () => ({ SAMLResponse: '' })],
    ['posted without any login', () => ({ SAMLResponse: '', cookie: null, RelayState: null })],
    [
      'posted with a landing-path RelayState',
      () => ({ SAMLResponse: '', cookie: null, RelayState: PROTECTED }),
    ],
  ])(
    'an unsolicited response (no InResponseTo) with IdP-initiated login off, %s, is refused',
    async (_name, post) => {
      const r = await rig('assertion');
      const login = await startLogin(r);
      const xml = await idpXml(r, undefined);
      expect(xml).not.toContain('InResponseTo');
      expectRefused(
        await postAcs(r, login, { ...post(login), SAMLResponse: toBase64(xml) }),
        'ERR_SAML_RESPONSE_INVALID',
      );
    },
  );

  it('IdP-initiated allowed: a solicited response posted without its login is refused', async () => {
    const r = await rig('idpInitiated');
    const login = await startLogin(r);
    const xml = await idpXml(r, login.requestId);
    expectRefused(
      await postAcs(r, login, { SAMLResponse: toBase64(xml), cookie: null, RelayState: null }),
      'ERR_SAML_RESPONSE_INVALID',
    );
  });
});

describe('replay', () => {
  it('the same valid POST twice: the first logs in, the second is refused', async () => {
    const r = await rig('assertion');
    const login = await startLogin(r);
    const post = { SAMLResponse: toBase64(await idpXml(r, login.requestId)) };
    expectLoggedIn(await postAcs(r, login, post));
    expectRefused(await postAcs(r, login, post), 'ERR_LOGIN_EXPIRED');
  });

  it('a used response replayed into a fresh login of another browser is refused', async () => {
    const r = await rig('assertion');
    const victim = await startLogin(r);
    const post = { SAMLResponse: toBase64(await idpXml(r, victim.requestId)) };
    expectLoggedIn(await postAcs(r, victim, post));
    const attacker = await startLogin(r);
    expectRefused(await postAcs(r, attacker, post), 'ERR_SAML_RESPONSE_INVALID');
  });

  it('IdP-initiated allowed: an unsolicited response posted twice is refused the second time', async () => {
    const r = await rig('idpInitiated');
    const post: Post = { SAMLResponse: toBase64(await idpXml(r, undefined)), RelayState: PROTECTED };
    expectLoggedIn(await postAcs(r, undefined, post));
    expectRefused(await postAcs(r, undefined, post), 'ERR_SAML_RESPONSE_INVALID');
  });
});

describe('DTDs and external references: refused, and nothing is ever fetched', () => {
  const probeRequests: string[] = [];
  let probe = '';
  let closeProbe: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const server = createServer((req: IncomingMessage, res) => {
      probeRequests.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'content-type': 'application/xml-dtd' }).end('<!ENTITY leaked "LEAKED">');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    probe = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    closeProbe = () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
  });
  afterAll(() => closeProbe());

  const NAMES = Object.keys(dtdAttacks('http://probe'));

  it.each(NAMES)('%s', async (name) => {
    const attack = dtdAttacks(probe)[name];
    if (!attack) throw new Error(name);
    const r = await rig('assertion');
    const login = await startLogin(r);
    const xml = withDoctype(await idpXml(r, login.requestId), attack.doctype, attack.reference);
    expectRefused(await postAcs(r, login, { SAMLResponse: toBase64(xml) }), 'ERR_SAML_RESPONSE_INVALID');
    expect(probeRequests).toEqual([]);
  });

  it.each<[string, (xml: string) => string]>([
    ['DOCTYPE in a UTF-16 document (dodges a UTF-8 text check)', (xml) => utf16WithDoctype(xml, probe)],
    [
      'XSLT transform (fetching the probe) in place of exclusive c14n',
      (xml) => toBase64(withXsltTransform(xml, probe)),
    ],
  ])('%s', async (_name, build) => {
    const r = await rig('assertion');
    const login = await startLogin(r);
    const samlResponse = build(await idpXml(r, login.requestId));
    expectRefused(await postAcs(r, login, { SAMLResponse: samlResponse }), 'ERR_SAML_RESPONSE_INVALID');
    expect(probeRequests).toEqual([]);
  });

  // xmldom does not do XInclude: the NameID is then empty, and the login fails for want of a subject.
  it('XInclude (to the probe) as the NameID, validly signed: never resolved, no empty identity', async () => {
    const r = await rig('resigned');
    const login = await startLogin(r);
    const xml = await idpXml(r, login.requestId, {
      beforeSigning: (unsigned) => withXInclude(unsigned, probe),
    });
    expect(xml).toContain('xi:include');
    const outcome = await postAcs(r, login, { SAMLResponse: toBase64(xml) });
    expect(probeRequests).toEqual([]);
    expectRefused(outcome, 'ERR_IDENTITY_INCOMPLETE', 403);
  });
});

describe('non-Success status from the IdP', () => {
  it.each<[string, string, string]>([
    ['Responder / AuthnFailed', STATUS.responder, STATUS.authnFailed],
    ['Requester / RequestDenied', STATUS.requester, STATUS.requestDenied],
  ])('%s → ERR_SAML_IDP_STATUS', async (_name, code, subCode) => {
    const r = await rig('assertion');
    const login = await startLogin(r);
    const xml = await idpXml(r, login.requestId, { overrides: { status: { code, subCode } } });
    expect(xml).not.toContain(STATUS.success);
    expectRefused(await postAcs(r, login, { SAMLResponse: toBase64(xml) }), 'ERR_SAML_IDP_STATUS');
  });
});

describe('malformed and wrong-type messages', () => {
  type Case = readonly [
    name: string,
    rig: RigName,
    build: (r: Rig, login: Login) => Promise<string>,
    code: string,
  ];
  const CASES: Case[] = [
    [
      'oversized: 4 MB of base64 (over the form limit)',
      'assertion',
      async () => 'PD94'.repeat(1024 * 1024),
      'ERR_PAYLOAD_INVALID',
    ],
    [
      'oversized: a signed response padded to 700 kB (within the form limit)',
      'assertion',
      async (r, l) =>
        toBase64(
          (await idpXml(r, l.requestId)).replace(
            '</samlp:Response>',
            `${' '.repeat(700_000)}</samlp:Response>`,
          ),
        ),
      'ERR_SAML_RESPONSE_INVALID',
    ],
    ['empty SAMLResponse', 'assertion', async () => '', 'ERR_SAML_RESPONSE_INVALID'],
    ['not base64: raw XML', 'assertion', async (r, l) => idpXml(r, l.requestId), 'ERR_SAML_RESPONSE_INVALID'],
    ['not base64: punctuation', 'assertion', async () => '%%%***!!!', 'ERR_SAML_RESPONSE_INVALID'],
    [
      'base64 of binary garbage',
      'assertion',
      async () => Buffer.from(Array.from({ length: 512 }, (_v, i) => (i * 37) % 256)).toString('base64'),
      'ERR_SAML_RESPONSE_INVALID',
    ],
    [
      'truncated (not well-formed) signed response',
      'assertion',
      async (r, l) => toBase64((await idpXml(r, l.requestId)).slice(0, -40)),
      'ERR_SAML_RESPONSE_INVALID',
    ],
    [
      'an AuthnRequest (sluss’s own) instead of a Response',
      'assertion',
      async (_r, l) => toBase64(l.authnRequestXml),
      'ERR_SAML_RESPONSE_INVALID',
    ],
    [
      'a LogoutRequest signed by the IdP instead of a Response',
      'assertion',
      async (r) => {
        const { html } = await r.idp.createLogoutRequest('post', ALICE.nameId);
        const value = /name="SAMLRequest" value="([^"]*)"/.exec(html ?? '')?.[1] ?? '';
        return value.replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n)));
      },
      'ERR_SAML_RESPONSE_INVALID',
    ],
    [
      'a LogoutResponse validly signed, answering the login request, instead of a Response',
      'resigned',
      async (r, l) =>
        toBase64(signRoot(logoutResponseXml(r.idp.entityId, r.sp.acsUrl, l.requestId), RESIGNER)),
      'ERR_SAML_RESPONSE_INVALID',
    ],
  ];

  it.each(CASES)('%s', async (_name, rigName, build, code) => {
    const r = await rig(rigName);
    const login = await startLogin(r);
    expectRefused(await postAcs(r, login, { SAMLResponse: await build(r, login) }), code);
  });
});

describe('encrypted assertions', () => {
  it.each<[RigName]>([['encrypted'], ['encryptedBoth']])(
    'requireEncryptedAssertions (%s): a signed but unencrypted assertion is refused',
    async (name) => {
      const r = await rig(name);
      const login = await startLogin(r);
      const xml = await idpXml(r, login.requestId, { overrides: { encryptAssertion: false } });
      expect(xml).not.toContain('EncryptedAssertion');
      expectRefused(await postAcs(r, login, { SAMLResponse: toBase64(xml) }), 'ERR_SAML_RESPONSE_INVALID');
    },
  );

  it.each<[string, RigName, { assertion: boolean; response: boolean }]>([
    ['response signed, signatureRequired: assertion', 'encrypted', { assertion: false, response: true }],
    ['response signed, signatureRequired: both', 'encryptedBoth', { assertion: false, response: true }],
    ['nothing signed, signatureRequired: assertion', 'encrypted', { assertion: false, response: false }],
    ['nothing signed, signatureRequired: both', 'encryptedBoth', { assertion: false, response: false }],
  ])('an encrypted assertion whose content is unsigned (%s) is refused', async (_name, name, sign) => {
    const r = await rig(name);
    const login = await startLogin(r);
    const xml = await idpXml(r, login.requestId, { sign, overrides: { encryptAssertion: true } });
    expect(xml).toContain('EncryptedAssertion');
    expectRefused(await postAcs(r, login, { SAMLResponse: toBase64(xml) }), 'ERR_SAML_RESPONSE_INVALID');
  });
});
