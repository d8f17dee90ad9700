/**
 * Proves the test SAML IdP is a correct IdP by using @node-saml/node-saml directly as
 * the service provider (not sluss): every response, logout request and logout response
 * the fixture produces must pass node-saml's own validation.
 */
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Profile, SAML, type SamlConfig, ValidateInResponseTo } from '@node-saml/node-saml';
import { IdentityProvider } from 'samlify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loginThroughOp } from './browserless-login.ts';
import { generateKeyPairWithCertificate } from './certificates.ts';
import { CookieJar } from './cookie-jar.ts';
import {
  NAMEID_FORMAT,
  type RunningSamlIdp,
  type SamlIdpOptions,
  type SamlUser,
  schemaValidate,
  startSamlIdp,
} from './saml-idp.ts';

const SP_ENTITY_ID = 'https://sp.sluss.test/saml/metadata';

const alice: SamlUser = {
  nameId: 'alice@example.com',
  nameIdFormat: 'email',
  attributes: {
    email: 'alice@example.com',
    givenName: 'Alice',
    groups: ['staff', 'admins', 'R&D <west>'],
    'urn:oid:2.5.4.4': 'Liddell',
  },
};

/** Stands in for the SP's ACS and SLO endpoints: records every POST body and GET query. */
async function startSpEndpoints(): Promise<{
  base: string;
  posts: URLSearchParams[];
  gets: URL[];
  close(): Promise<void>;
}> {
  const posts: URLSearchParams[] = [];
  const gets: URL[] = [];
  const server = http.createServer(async (req, res) => {
    if (req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += String(chunk);
      posts.push(new URLSearchParams(body));
    } else {
      gets.push(new URL(req.url ?? '/', 'http://127.0.0.1'));
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('sp reached');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    posts,
    gets,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The hidden fields and action of the IdP's auto-post page. */
function parseAutoPost(html: string): { action: string; fields: Record<string, string> } {
  expect(html).toContain('document.forms[0].submit()');
  const action = /<form method="post" action="([^"]*)"/.exec(html)?.[1];
  if (action === undefined) throw new Error(`no form in ${html}`);
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)"\/>/g)) {
    fields[m[1] ?? ''] = (m[2] ?? '').replace(/&#(\d+);/g, (_x, n: string) => String.fromCharCode(Number(n)));
  }
  return { action: action.replace(/&#(\d+);/g, (_x, n: string) => String.fromCharCode(Number(n))), fields };
}

function xmlOf(samlResponse: string): string {
  return Buffer.from(samlResponse, 'base64').toString('utf8');
}

describe('test SAML IdP, checked with @node-saml/node-saml as SP', () => {
  const spSigning = generateKeyPairWithCertificate('sluss SP signing');
  const spEncryption = generateKeyPairWithCertificate('sluss SP encryption');
  let sp: Awaited<ReturnType<typeof startSpEndpoints>>;
  let idp: RunningSamlIdp;
  let baseOptions: SamlIdpOptions;

  function samlSp(config: Partial<SamlConfig> = {}): SAML {
    return new SAML({
      issuer: SP_ENTITY_ID,
      callbackUrl: `${sp.base}/saml/acs`,
      logoutCallbackUrl: `${sp.base}/saml/slo`,
      entryPoint: idp.ssoUrl,
      logoutUrl: idp.sloUrl,
      idpCert: idp.signingCertificatePem,
      idpIssuer: idp.entityId,
      audience: SP_ENTITY_ID,
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: true,
      privateKey: spSigning.privateKeyPem,
      signatureAlgorithm: 'sha256',
      validateInResponseTo: ValidateInResponseTo.never,
      ...config,
    });
  }

  beforeAll(async () => {
    sp = await startSpEndpoints();
    baseOptions = {
      sp: {
        entityId: SP_ENTITY_ID,
        acsUrl: `${sp.base}/saml/acs`,
        sloUrl: `${sp.base}/saml/slo`,
        signingCertificatePem: spSigning.certificatePem,
        encryptionCertificatePem: spEncryption.certificatePem,
      },
      user: alice,
    };
    idp = await startSamlIdp(structuredClone(baseOptions));
  });
  afterAll(async () => {
    await idp.close();
    await sp.close();
  });
  beforeEach(() => {
    idp.options = structuredClone(baseOptions);
    sp.posts.length = 0;
    sp.gets.length = 0;
  });

  it('SP-initiated login: signed AuthnRequest over HTTP-Redirect, signed response and assertion', async () => {
    const saml = samlSp({ validateInResponseTo: ValidateInResponseTo.always });
    const authorizeUrl = await saml.getAuthorizeUrlAsync('relay-123', undefined, {});
    expect(authorizeUrl.startsWith(`${idp.ssoUrl}?SAMLRequest=`)).toBe(true);

    // browserless-login follows the auto-post page to the ACS, as sluss's tests will.
    const result = await loginThroughOp(authorizeUrl, new CookieJar(), { login: 'x', password: 'x' });
    expect(result.finalUrl).toBe(`${sp.base}/saml/acs`);
    const post = sp.posts.at(-1);
    expect(post?.get('RelayState')).toBe('relay-123');
    const samlResponse = post?.get('SAMLResponse') ?? '';

    const request = idp.authnRequests.at(-1);
    expect(request?.signed).toBe(true);
    expect(request?.relayState).toBe('relay-123');
    expect(request?.xml).toContain('AuthnRequest');
    const xml = xmlOf(samlResponse);
    expect(xml).toContain(`InResponseTo="${request?.id}"`);
    expect(xml).toContain(`Destination="${sp.base}/saml/acs"`);
    expect(xml).toContain('http://www.w3.org/2001/10/xml-exc-c14n#');
    expect(xml).toContain('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
    expect(xml.match(/<ds:Signature\b/g)).toHaveLength(2);

    const { profile, loggedOut } = await saml.validatePostResponseAsync({ SAMLResponse: samlResponse });
    expect(loggedOut).toBe(false);
    expect(profile).toMatchObject({
      issuer: idp.entityId,
      nameID: 'alice@example.com',
      nameIDFormat: NAMEID_FORMAT.email,
      sessionIndex: idp.lastSessionIndex,
      inResponseTo: request?.id,
      email: 'alice@example.com',
      attributes: {
        email: 'alice@example.com',
        givenName: 'Alice',
        groups: ['staff', 'admins', 'R&D <west>'],
        'urn:oid:2.5.4.4': 'Liddell',
      },
    });
    // The same response cannot be used twice against an InResponseTo-checking SP.
    await expect(saml.validatePostResponseAsync({ SAMLResponse: samlResponse })).rejects.toThrow(
      /InResponseTo is not valid/,
    );
  });

  it('SP-initiated login over HTTP-POST binding with an unsigned AuthnRequest', async () => {
    // node-saml deflates POST-binding requests unless told not to (the POST binding never deflates).
    const saml = samlSp({
      authnRequestBinding: 'HTTP-POST',
      privateKey: undefined,
      skipRequestCompression: true,
    });
    const message = await saml.getAuthorizeMessageAsync('', undefined, {});
    const res = await fetch(idp.ssoUrl, {
      method: 'POST',
      body: new URLSearchParams(message as Record<string, string>),
    });
    expect(res.status).toBe(200);
    const page = parseAutoPost(await res.text());
    expect(page.fields.RelayState).toBeUndefined();
    expect(idp.authnRequests.at(-1)?.signed).toBe(false);
    const { profile } = await saml.validatePostResponseAsync({
      SAMLResponse: page.fields.SAMLResponse ?? '',
    });
    expect(profile?.nameID).toBe('alice@example.com');
    // A deflated POST body is not a SAML message: the IdP refuses it.
    const deflated = await samlSp({ authnRequestBinding: 'HTTP-POST' }).getAuthorizeMessageAsync(
      '',
      undefined,
      {},
    );
    const refused = await fetch(idp.ssoUrl, {
      method: 'POST',
      body: new URLSearchParams(deflated as Record<string, string>),
    });
    expect(refused.status).toBe(400);
  });

  it('emits schema-valid Responses (plain, signed, encrypted) and schema-checks what it receives', async () => {
    for (const overrides of [
      { signResponse: false, signAssertion: false },
      {},
      { encryptAssertion: true, sessionNotOnOrAfterSeconds: 60 },
    ]) {
      await expect(schemaValidate(xmlOf(await idp.createResponse('_r', overrides)))).resolves.toBeUndefined();
    }
    await expect(
      schemaValidate('<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>'),
    ).rejects.toThrow(/schema validation failed/);
  });

  it('rejects an AuthnRequest signed with a key that is not the registered SP certificate', async () => {
    const intruder = generateKeyPairWithCertificate('intruder');
    const saml = samlSp({ privateKey: intruder.privateKeyPem });
    const res = await fetch(await saml.getAuthorizeUrlAsync('', undefined, {}));
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/AuthnRequest rejected/);
  });

  it('encrypts the assertion for the SP encryption certificate (aes256-cbc and aes128-gcm)', async () => {
    for (const algorithm of ['aes256-cbc', 'aes128-gcm'] as const) {
      idp.options.encryptAssertion = true;
      idp.options.dataEncryptionAlgorithm = algorithm;
      const samlResponse = await idp.createResponse('_req-enc');
      const xml = xmlOf(samlResponse);
      expect(xml).toContain('EncryptedAssertion');
      expect(xml).not.toContain('<saml:Assertion');
      expect(xml).not.toContain('alice@example.com');
      expect(xml).toContain(algorithm === 'aes256-cbc' ? 'xmlenc#aes256-cbc' : 'xmlenc11#aes128-gcm');
      expect(xml).toContain('rsa-oaep-mgf1p');

      const { profile } = await samlSp({
        decryptionPvk: spEncryption.privateKeyPem,
      }).validatePostResponseAsync({
        SAMLResponse: samlResponse,
      });
      expect(profile?.nameID).toBe('alice@example.com');
      expect(profile?.attributes).toMatchObject({ groups: ['staff', 'admins', 'R&D <west>'] });
      // Without the decryption key node-saml refuses.
      await expect(samlSp().validatePostResponseAsync({ SAMLResponse: samlResponse })).rejects.toThrow(
        /No decryption key/,
      );
    }
  });

  it('signs the response only, the assertion only, or neither, as configured', async () => {
    const responseOnly = await idp.createResponse(undefined, { signAssertion: false });
    expect(xmlOf(responseOnly).match(/<ds:Signature\b/g)).toHaveLength(1);
    await expect(samlSp().validatePostResponseAsync({ SAMLResponse: responseOnly })).rejects.toThrow(
      /Invalid signature/,
    );
    await expect(
      samlSp({ wantAssertionsSigned: false }).validatePostResponseAsync({ SAMLResponse: responseOnly }),
    ).resolves.toMatchObject({ profile: { nameID: 'alice@example.com' } });

    const assertionOnly = await idp.createResponse(undefined, { signResponse: false });
    await expect(samlSp().validatePostResponseAsync({ SAMLResponse: assertionOnly })).rejects.toThrow(
      /Invalid document signature/,
    );
    await expect(
      samlSp({ wantAuthnResponseSigned: false }).validatePostResponseAsync({ SAMLResponse: assertionOnly }),
    ).resolves.toMatchObject({ profile: { nameID: 'alice@example.com' } });

    const unsigned = await idp.createResponse(undefined, { signResponse: false, signAssertion: false });
    expect(xmlOf(unsigned)).not.toContain('Signature');
    await expect(
      samlSp({ wantAuthnResponseSigned: false, wantAssertionsSigned: false }).validatePostResponseAsync({
        SAMLResponse: unsigned,
      }),
    ).rejects.toThrow(/Invalid signature/);
  });

  it('carries AuthnContextClassRef, SessionNotOnOrAfter, the user override and rsa-sha1 when asked', async () => {
    const bob: SamlUser = {
      nameId: 'b0b-persistent-id',
      nameIdFormat: 'persistent',
      attributes: { upn: 'bob@example.com' },
      authnContextClassRef: 'urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract',
    };
    const samlResponse = await idp.createResponse('_req-bob', {
      user: bob,
      sessionNotOnOrAfterSeconds: 3600,
      signatureAlgorithm: 'rsa-sha1',
    });
    const xml = xmlOf(samlResponse);
    expect(xml).toContain('http://www.w3.org/2000/09/xmldsig#rsa-sha1');
    const { profile } = await samlSp().validatePostResponseAsync({ SAMLResponse: samlResponse });
    expect(profile).toMatchObject({ nameID: 'b0b-persistent-id', nameIDFormat: NAMEID_FORMAT.persistent });
    // node-saml surfaces neither in the profile: they are only in the assertion itself.
    expect(profile).not.toHaveProperty('authnContextClassRef');
    const assertion = (profile as Profile).getAssertion?.() as {
      Assertion: {
        $: { ID: string };
        AuthnStatement: {
          $: { SessionNotOnOrAfter?: string; SessionIndex: string };
          AuthnContext: unknown[];
        }[];
      };
    };
    const statement = assertion.Assertion.AuthnStatement[0];
    const sessionEnd = Date.parse(statement?.$.SessionNotOnOrAfter ?? '');
    expect(Math.abs(sessionEnd - (Date.now() + 3_600_000))).toBeLessThan(60_000);
    expect(JSON.stringify(statement?.AuthnContext)).toContain('MobileTwoFactorContract');
    expect(assertion.Assertion.$.ID).toMatch(/^_[0-9a-f]{40}$/);
    expect(profile?.getAssertionXml?.()).toContain('SessionNotOnOrAfter=');
  });

  it('produces failure statuses and expired responses for negative tests', async () => {
    const denied = await idp.createResponse('_req-denied', {
      status: {
        code: 'urn:oasis:names:tc:SAML:2.0:status:Responder',
        subCode: 'urn:oasis:names:tc:SAML:2.0:status:AuthnFailed',
        message: 'user is disabled',
      },
    });
    await expect(samlSp().validatePostResponseAsync({ SAMLResponse: denied })).rejects.toThrow(
      /Responder error: user is disabled/,
    );
    const old = await idp.createResponse(undefined, { timeOffsetSeconds: -3600 });
    await expect(samlSp().validatePostResponseAsync({ SAMLResponse: old })).rejects.toThrow(/expired/);
    const otherAudience = await idp.createResponse(undefined, {
      sp: { ...baseOptions.sp, entityId: 'https://evil' },
    });
    await expect(samlSp().validatePostResponseAsync({ SAMLResponse: otherAudience })).rejects.toThrow(
      /audience mismatch/,
    );
  });

  it('IdP-initiated login: an unsolicited response without InResponseTo', async () => {
    const res = await fetch(`${idp.idpInitiatedUrl}?RelayState=%2Fapp%2Fhome`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    const page = parseAutoPost(await res.text());
    expect(page.action).toBe(`${sp.base}/saml/acs`);
    expect(page.fields.RelayState).toBe('/app/home');
    const samlResponse = page.fields.SAMLResponse ?? '';
    expect(xmlOf(samlResponse)).not.toContain('InResponseTo');
    const { profile } = await samlSp({
      validateInResponseTo: ValidateInResponseTo.ifPresent,
    }).validatePostResponseAsync({ SAMLResponse: samlResponse });
    expect(profile?.sessionIndex).toBe(idp.lastSessionIndex);
    expect(profile?.inResponseTo).toBeUndefined();
    // An SP that insists on InResponseTo refuses it.
    await expect(
      samlSp({ validateInResponseTo: ValidateInResponseTo.always }).validatePostResponseAsync({
        SAMLResponse: samlResponse,
      }),
    ).rejects.toThrow(/InResponseTo is missing/);
  });

  it('IdP-initiated logout over HTTP-Redirect validates, and the SP answer parses', async () => {
    const { url, id } = await idp.createLogoutRequest('redirect', 'alice@example.com', '_session-1');
    if (!url) throw new Error('no url');
    const parsed = new URL(url);
    expect(`${parsed.origin}${parsed.pathname}`).toBe(`${sp.base}/saml/slo`);
    expect(parsed.searchParams.get('SigAlg')).toBe('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
    expect(parsed.searchParams.get('Signature')).toBeTruthy();

    const saml = samlSp();
    const { profile, loggedOut } = await saml.validateRedirectAsync(
      Object.fromEntries(parsed.searchParams),
      parsed.search.slice(1),
    );
    expect(loggedOut).toBe(true);
    expect(profile).toMatchObject({ ID: id, nameID: 'alice@example.com', sessionIndex: '_session-1' });

    // A tampered signature is refused by node-saml (so the signature really is checked).
    const tampered = new URLSearchParams(parsed.searchParams);
    tampered.set('RelayState', 'x');
    await expect(
      saml.validateRedirectAsync(Object.fromEntries(tampered), tampered.toString()),
    ).rejects.toThrow(/Invalid query signature/);

    // The SP answers with a signed LogoutResponse; the IdP parses and verifies it.
    const answer = new URL(await saml.getLogoutResponseUrlAsync(profile as Profile, 'rs', {}, true));
    expect(`${answer.origin}${answer.pathname}`).toBe(idp.sloUrl);
    await expect(idp.parseLogoutResponse({ query: answer.searchParams })).resolves.toEqual({
      status: 'urn:oasis:names:tc:SAML:2.0:status:Success',
      inResponseTo: id,
    });
    // …also when the browser carries it to the IdP's SLO endpoint.
    const res = await fetch(answer);
    expect(res.status).toBe(200);
    expect(idp.logoutResponsesReceived.at(-1)?.inResponseTo).toBe(id);
    // A failure answer keeps its status.
    const failed = new URL(await saml.getLogoutResponseUrlAsync(profile as Profile, '', {}, false));
    expect((await idp.parseLogoutResponse({ query: failed.searchParams })).status).toBe(
      'urn:oasis:names:tc:SAML:2.0:status:Requester',
    );
  });

  it('IdP-initiated logout over HTTP-POST validates', async () => {
    const { html, id } = await idp.createLogoutRequest('post', 'alice@example.com');
    const page = parseAutoPost(html ?? '');
    expect(page.action).toBe(`${sp.base}/saml/slo`);
    const { profile, loggedOut } = await samlSp().validatePostRequestAsync({
      SAMLRequest: page.fields.SAMLRequest ?? '',
    });
    expect(loggedOut).toBe(true);
    expect(profile).toMatchObject({ ID: id, nameID: 'alice@example.com', nameIDFormat: NAMEID_FORMAT.email });
    expect(profile?.sessionIndex).toBeUndefined();
  });

  it('SP-initiated logout: records the LogoutRequest and redirects back with a signed LogoutResponse', async () => {
    const saml = samlSp();
    const logoutUrl = await saml.getLogoutUrlAsync(
      {
        issuer: idp.entityId,
        nameID: 'alice@example.com',
        nameIDFormat: NAMEID_FORMAT.email,
        sessionIndex: '_session-9',
      },
      'after-logout',
      {},
    );
    const res = await fetch(logoutUrl, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(idp.logoutRequestsReceived.at(-1)).toMatchObject({
      nameId: 'alice@example.com',
      sessionIndex: '_session-9',
    });
    const location = new URL(res.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(`${sp.base}/saml/slo`);
    expect(location.searchParams.get('RelayState')).toBe('after-logout');
    expect(location.searchParams.get('Signature')).toBeTruthy();
    const { loggedOut } = await saml.validateRedirectAsync(
      Object.fromEntries(location.searchParams),
      location.search.slice(1),
    );
    expect(loggedOut).toBe(true);
  });

  it('documents node-saml quirks that sluss has to guard against itself', async () => {
    // 1. validateRedirectAsync accepts a redirect-binding LogoutRequest with no signature at all.
    const { url } = await idp.createLogoutRequest('redirect', 'alice@example.com', '_s');
    const unsigned = new URL(url ?? '');
    unsigned.searchParams.delete('Signature');
    unsigned.searchParams.delete('SigAlg');
    await expect(
      samlSp().validateRedirectAsync(Object.fromEntries(unsigned.searchParams), unsigned.search.slice(1)),
    ).resolves.toMatchObject({ loggedOut: true, profile: { nameID: 'alice@example.com' } });
    // 2. It signs the redirect query as querystring.stringify encodes it but sends URLSearchParams'
    //    encoding, so a RelayState with a space (or any of !'()~) fails at an IdP that verifies
    //    the bytes it received, as the binding spec requires.
    const res = await fetch(await samlSp().getAuthorizeUrlAsync('a b', undefined, {}));
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/SIGNATURE_VERIFICATION/);
  });

  it('serves metadata with entityID, signing certificate and endpoints (optionally signed)', async () => {
    for (const signMetadata of [false, true]) {
      idp.options.signMetadata = signMetadata;
      const res = await fetch(idp.metadataUrl);
      expect(res.headers.get('content-type')).toContain('application/samlmetadata+xml');
      const xml = await res.text();
      expect(xml.includes('<ds:Signature')).toBe(signMetadata);
      const parsed = IdentityProvider({ metadata: xml });
      expect(parsed.entityMeta.getEntityID()).toBe(idp.entityId);
      const cert = parsed.entityMeta.getX509Certificate('signing');
      expect(idp.signingCertificatePem.replace(/-----[^-]+-----|\s/g, '')).toBe(cert);
      expect(parsed.entityMeta.getSingleSignOnService('redirect')).toBe(idp.ssoUrl);
      expect(parsed.entityMeta.getSingleLogoutService('redirect')).toBe(idp.sloUrl);
      expect(parsed.entityMeta.getSingleLogoutService('post')).toBe(idp.sloUrl);
    }
    expect(idp.sha1Fingerprint).toMatch(/^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
    expect(idp.sha256Fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });
});
