/**
 * A real SAML 2.0 identity provider on loopback for tests, built on samlify: it parses
 * AuthnRequests (HTTP-Redirect or HTTP-POST), "logs in" a configurable user without any
 * UI and answers with an auto-submitting POST form carrying a signed (and optionally
 * encrypted) Response; it does IdP-initiated login, single logout in both directions
 * and serves its metadata.
 *
 * The Response XML is assembled here (samlify's template cannot express multi-valued
 * attributes, SessionNotOnOrAfter or an unsigned response) and then signed and
 * encrypted with samlify's SamlLib (xml-crypto: exclusive c14n, enveloped signature;
 * xml-encryption: AES + RSA-OAEP), in the order a real IdP uses: sign the assertion,
 * encrypt it, sign the response.
 *
 * Incoming AuthnRequests and logout messages are validated against the SAML 2.0 XML
 * schemas (schemaValidate below) before samlify looks at them.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { inflateRawSync } from 'node:zlib';
import {
  Extractor,
  IdentityProvider,
  type IdentityProviderInstance,
  SamlLib,
  ServiceProvider,
  type ServiceProviderInstance,
  setSchemaValidator,
} from 'samlify';
import { validateXML, type XMLFileInfo } from 'xmllint-wasm';
import { generateKeyPairWithCertificate } from './certificates.ts';

/**
 * The official SAML 2.0 protocol/assertion, XML-DSig and XML-Enc schemas, taken from
 * @authenio/samlify-node-xmllint (which ships them as JS strings). Its own validator is
 * not used: that emscripten build re-instantiates libxml2 on every call (~200 ms), prints
 * to stdout, adds a process 'uncaughtException' listener per call and arms
 * `process.stdout.once('drain', () => process.exit())`. xmllint-wasm runs libxml2 as
 * WebAssembly in a worker thread instead, with none of that.
 */
const SCHEMA_FILES: XMLFileInfo[] = (() => {
  const require = createRequire(import.meta.url);
  return [
    'saml-schema-protocol-2.0.xsd',
    'saml-schema-assertion-2.0.xsd',
    'xmldsig-core-schema.xsd',
    'xenc-schema.xsd',
    'XMLSchema.dtd',
    'datatypes.dtd',
  ].map((fileName) => ({
    fileName,
    contents: (require(`@authenio/samlify-node-xmllint/build/schemas/${fileName}.js`) as { default: string })
      .default,
  }));
})();

/** Validates a SAML protocol message against the SAML 2.0 schemas; rejects with libxml2's errors. */
export async function schemaValidate(xml: string): Promise<void> {
  const [protocol, ...imported] = SCHEMA_FILES;
  if (!protocol) throw new Error('SAML schemas missing');
  const result = await validateXML({
    xml: [{ fileName: 'message.xml', contents: xml }],
    schema: [protocol],
    preload: imported,
  });
  if (!result.valid) {
    throw new Error(`schema validation failed: ${result.errors.map((e) => e.message).join('; ')}`);
  }
}

setSchemaValidator({ validate: (xml: string) => schemaValidate(xml).then(() => 'SUCCESS_VALIDATE_XML') });

export interface SamlUser {
  nameId: string;
  nameIdFormat?: 'email' | 'persistent' | 'transient' | 'unspecified';
  attributes: Record<string, string | string[]>;
  authnContextClassRef?: string;
}

export interface SamlIdpOptions {
  sp: {
    entityId: string;
    acsUrl: string;
    sloUrl?: string;
    /** When set, signed AuthnRequests / logout messages from the SP are verified against it. */
    signingCertificatePem?: string;
    encryptionCertificatePem?: string;
  };
  user: SamlUser;
  /** Sign the whole Response (default true). */
  signResponse?: boolean;
  /** Sign the Assertion (default true). */
  signAssertion?: boolean;
  /** Encrypt the Assertion for sp.encryptionCertificatePem (default false). */
  encryptAssertion?: boolean;
  /** Data encryption algorithm for encryptAssertion (default 'aes256-cbc'). */
  dataEncryptionAlgorithm?: 'aes256-cbc' | 'aes128-gcm' | 'aes256-gcm' | 'tripledes-cbc';
  /** Key transport for encryptAssertion (default 'rsa-oaep-mgf1p'). */
  keyEncryptionAlgorithm?: 'rsa-oaep-mgf1p' | 'rsa-1_5';
  /** Adds SessionNotOnOrAfter (now + this) to the AuthnStatement. */
  sessionNotOnOrAfterSeconds?: number;
  /** XML-DSig and redirect-binding signature algorithm (default 'rsa-sha256'). */
  signatureAlgorithm?: 'rsa-sha256' | 'rsa-sha1';
  /** Sign the metadata document served at /metadata (default false). */
  signMetadata?: boolean;
  /** Lifetime of Conditions and SubjectConfirmationData, in seconds (default 300). */
  assertionLifetimeSeconds?: number;
  /** Shifts every timestamp the IdP writes (negative: an old, possibly expired response). Default 0. */
  timeOffsetSeconds?: number;
  /** A non-Success status: the Response then carries no assertion. */
  status?: { code: string; subCode?: string; message?: string };
}

export interface AuthnRequestRecord {
  id: string;
  xml: string;
  relayState?: string;
  signed: boolean;
}

export interface LogoutRequestRecord {
  xml: string;
  nameId?: string;
  sessionIndex?: string;
}

export interface LogoutResponseRecord {
  xml: string;
  status: string;
  inResponseTo?: string;
}

export interface RunningSamlIdp {
  /** `http://127.0.0.1:<port>/metadata` */
  entityId: string;
  /** SSO endpoint: HTTP-Redirect (GET) and HTTP-POST (POST) bindings. */
  ssoUrl: string;
  /** SLO endpoint: HTTP-Redirect (GET) and HTTP-POST (POST) bindings, requests and responses. */
  sloUrl: string;
  metadataUrl: string;
  signingCertificatePem: string;
  sha1Fingerprint: string;
  sha256Fingerprint: string;
  /** The user the next login yields; same object as `options.user`. */
  user: SamlUser;
  /** Mutable per test; read on every request. */
  options: SamlIdpOptions;
  authnRequests: AuthnRequestRecord[];
  logoutRequestsReceived: LogoutRequestRecord[];
  logoutResponsesReceived: LogoutResponseRecord[];
  /** SessionIndex of the last login response built (SSO endpoint, IdP-initiated or createResponse). */
  lastSessionIndex?: string;
  /** A SAMLResponse (base64) for the given request ID (unsolicited when undefined), built like the SSO endpoint would. */
  createResponse(
    inResponseTo?: string,
    overrides?: Partial<SamlIdpOptions> & { user?: SamlUser },
  ): Promise<string>;
  /** GET it (optionally with `?RelayState=`) to receive an auto-post page with an unsolicited Response to the ACS. */
  idpInitiatedUrl: string;
  /** IdP-initiated single logout: a signed LogoutRequest to the SP's sloUrl, as Redirect-binding URL or POST form page. */
  createLogoutRequest(
    binding: 'redirect' | 'post',
    nameId: string,
    sessionIndex?: string,
  ): Promise<{ url?: string; html?: string; id: string }>;
  /** Parses a LogoutResponse the SP sent back (query string or form); verifies its signature when the SP cert is known. */
  parseLogoutResponse(input: {
    query?: URLSearchParams;
    form?: URLSearchParams;
  }): Promise<{ status: string; inResponseTo?: string }>;
  close(): Promise<void>;
}

const BINDING = {
  redirect: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
  post: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
} as const;

export const NAMEID_FORMAT = {
  email: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  transient: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  unspecified: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
} as const;

const SIGNATURE_ALGORITHM = {
  'rsa-sha256': 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'rsa-sha1': 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
} as const;

const DATA_ENCRYPTION = {
  'aes256-cbc': 'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
  'aes128-gcm': 'http://www.w3.org/2009/xmlenc11#aes128-gcm',
  'aes256-gcm': 'http://www.w3.org/2009/xmlenc11#aes256-gcm',
  'tripledes-cbc': 'http://www.w3.org/2001/04/xmlenc#tripledes-cbc',
} as const;

const STATUS_SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
const DEFAULT_AUTHN_CONTEXT = 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export async function startSamlIdp(initialOptions: SamlIdpOptions): Promise<RunningSamlIdp> {
  const keys = generateKeyPairWithCertificate('sluss test SAML IdP');
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  const entityId = `${base}/metadata`;
  const ssoUrl = `${base}/sso`;
  const sloUrl = `${base}/slo`;
  const idpInitiatedUrl = `${base}/idp-initiated`;

  let options = initialOptions;

  /** samlify entities, rebuilt per use so that every option change applies at once. */
  function entities(
    o: SamlIdpOptions,
    checks: {
      authnRequestsSigned?: boolean;
      logoutRequestSigned?: boolean;
      logoutResponseSigned?: boolean;
    } = {},
  ): { idp: IdentityProviderInstance; sp: ServiceProviderInstance } {
    const sigAlg = SIGNATURE_ALGORITHM[o.signatureAlgorithm ?? 'rsa-sha256'];
    const idpSettings = {
      entityID: entityId,
      privateKey: keys.privateKeyPem,
      signingCert: keys.certificatePem,
      requestSignatureAlgorithm: sigAlg,
      nameIDFormat: [NAMEID_FORMAT[o.user.nameIdFormat ?? 'unspecified']],
      singleSignOnService: [
        { Binding: BINDING.redirect, Location: ssoUrl },
        { Binding: BINDING.post, Location: ssoUrl },
      ],
      singleLogoutService: [
        { Binding: BINDING.redirect, Location: sloUrl },
        { Binding: BINDING.post, Location: sloUrl },
      ],
      wantAuthnRequestsSigned: checks.authnRequestsSigned ?? false,
      wantLogoutRequestSigned: checks.logoutRequestSigned ?? false,
      wantLogoutResponseSigned: checks.logoutResponseSigned ?? false,
      isAssertionEncrypted: o.encryptAssertion ?? false,
      dataEncryptionAlgorithm: DATA_ENCRYPTION[o.dataEncryptionAlgorithm ?? 'aes256-cbc'],
      keyEncryptionAlgorithm: `http://www.w3.org/2001/04/xmlenc#${o.keyEncryptionAlgorithm ?? 'rsa-oaep-mgf1p'}`,
    };
    const sloServices = o.sp.sloUrl
      ? [
          { Binding: BINDING.redirect, Location: o.sp.sloUrl },
          { Binding: BINDING.post, Location: o.sp.sloUrl },
        ]
      : [];
    const spSettings = {
      entityID: o.sp.entityId,
      assertionConsumerService: [{ Binding: BINDING.post, Location: o.sp.acsUrl }],
      singleLogoutService: sloServices,
      ...(o.sp.signingCertificatePem ? { signingCert: o.sp.signingCertificatePem } : {}),
      ...(o.sp.encryptionCertificatePem ? { encryptCert: o.sp.encryptionCertificatePem } : {}),
      // These make samlify sign what the IdP sends to the SP (logout messages).
      wantLogoutRequestSigned: true,
      wantLogoutResponseSigned: true,
    };
    return { idp: IdentityProvider(idpSettings), sp: ServiceProvider(spSettings) };
  }

  function metadataXml(): string {
    const xml = entities(options).idp.getMetadata();
    if (!options.signMetadata) return xml;
    const withId = xml.replace(/<(\w+:)?EntityDescriptor\b/, (m) => `${m} ID="${newId()}"`);
    return SamlLib.constructSAMLSignature({
      rawSamlMessage: withId,
      isMessageSigned: true,
      privateKey: keys.privateKeyPem,
      signatureAlgorithm: SIGNATURE_ALGORITHM[options.signatureAlgorithm ?? 'rsa-sha256'],
      signingCert: keys.certificateBase64,
      isBase64Output: false,
      signatureConfig: { prefix: 'ds', location: { reference: '/*', action: 'prepend' } },
    });
  }

  async function createResponse(
    inResponseTo?: string,
    overrides: Partial<SamlIdpOptions> & { user?: SamlUser } = {},
  ): Promise<string> {
    const o: SamlIdpOptions = { ...options, ...overrides, user: overrides.user ?? options.user };
    const sessionIndex = newId();
    idp.lastSessionIndex = sessionIndex;
    let xml = responseXml(o, {
      issuer: entityId,
      inResponseTo,
      sessionIndex,
      responseId: newId(),
      assertionId: newId(),
    });
    const success = (o.status?.code ?? STATUS_SUCCESS) === STATUS_SUCCESS;
    const signing = {
      privateKey: keys.privateKeyPem,
      signatureAlgorithm: SIGNATURE_ALGORITHM[o.signatureAlgorithm ?? 'rsa-sha256'],
      signingCert: keys.certificateBase64,
      isBase64Output: false,
    };
    if (success && (o.signAssertion ?? true)) {
      xml = SamlLib.constructSAMLSignature({
        ...signing,
        rawSamlMessage: xml,
        referenceTagXPath: "/*[local-name(.)='Response']/*[local-name(.)='Assertion']",
        signatureConfig: {
          prefix: 'ds',
          location: {
            reference: "/*[local-name(.)='Response']/*[local-name(.)='Assertion']/*[local-name(.)='Issuer']",
            action: 'after',
          },
        },
      });
    }
    if (success && o.encryptAssertion) {
      if (!o.sp.encryptionCertificatePem)
        throw new Error('encryptAssertion needs sp.encryptionCertificatePem');
      const e = entities(o);
      xml = Buffer.from(await SamlLib.encryptAssertion(e.idp, e.sp, xml), 'base64').toString('utf8');
    }
    if (o.signResponse ?? true) {
      xml = SamlLib.constructSAMLSignature({
        ...signing,
        rawSamlMessage: xml,
        isMessageSigned: true,
        signatureConfig: {
          prefix: 'ds',
          location: { reference: "/*[local-name(.)='Response']/*[local-name(.)='Issuer']", action: 'after' },
        },
      });
    }
    return Buffer.from(xml, 'utf8').toString('base64');
  }

  async function handleSso(req: IncomingMessage, url: URL, res: ServerResponse): Promise<void> {
    const binding = req.method === 'POST' ? 'post' : 'redirect';
    const params = binding === 'post' ? await readForm(req) : url.searchParams;
    const samlRequest = params.get('SAMLRequest');
    if (!samlRequest) throw new HttpError(400, 'SAMLRequest missing');
    const relayState = params.get('RelayState') ?? undefined;
    const rawXml = binding === 'post' ? decodeBase64(samlRequest) : inflate(samlRequest);
    const signed = binding === 'post' ? /<(\w+:)?Signature\b/.test(rawXml) : params.has('Signature');
    const verify = signed && options.sp.signingCertificatePem !== undefined;
    const { idp: samlIdp, sp } = entities(options, { authnRequestsSigned: verify });
    let parsed: Awaited<ReturnType<IdentityProviderInstance['parseLoginRequest']>>;
    try {
      parsed = await samlIdp.parseLoginRequest(sp, binding, {
        query: Object.fromEntries(params),
        body: Object.fromEntries(params),
        octetString: binding === 'redirect' ? octetString(url, 'SAMLRequest') : '',
      });
    } catch (error) {
      throw new HttpError(400, `AuthnRequest rejected: ${describe(error)}`);
    }
    const extract = parsed.extract as {
      request?: { id?: string; assertionConsumerServiceUrl?: string };
      issuer?: string;
    };
    const id = extract.request?.id;
    if (!id) throw new HttpError(400, 'AuthnRequest has no ID');
    idp.authnRequests.push({ id, xml: parsed.samlContent, signed, ...(relayState ? { relayState } : {}) });
    if (extract.issuer !== options.sp.entityId) {
      throw new HttpError(
        400,
        `unknown SP issuer ${String(extract.issuer)} (expected ${options.sp.entityId})`,
      );
    }
    const acs = extract.request?.assertionConsumerServiceUrl;
    if (acs && acs !== options.sp.acsUrl) {
      throw new HttpError(
        400,
        `AssertionConsumerServiceURL ${acs} is not the registered ${options.sp.acsUrl}`,
      );
    }
    const samlResponse = await createResponse(id);
    sendHtml(res, autoPostPage(options.sp.acsUrl, { SAMLResponse: samlResponse, RelayState: relayState }));
  }

  async function handleSlo(req: IncomingMessage, url: URL, res: ServerResponse): Promise<void> {
    const binding = req.method === 'POST' ? 'post' : 'redirect';
    const params = binding === 'post' ? await readForm(req) : url.searchParams;
    const request = params.get('SAMLRequest');
    if (request) {
      const rawXml = binding === 'post' ? decodeBase64(request) : inflate(request);
      const signed = binding === 'post' ? /<(\w+:)?Signature\b/.test(rawXml) : params.has('Signature');
      const verify = signed && options.sp.signingCertificatePem !== undefined;
      const { idp: samlIdp, sp } = entities(options, { logoutRequestSigned: verify });
      let parsed: Awaited<ReturnType<IdentityProviderInstance['parseLogoutRequest']>>;
      try {
        parsed = await samlIdp.parseLogoutRequest(sp, binding, {
          query: Object.fromEntries(params),
          body: Object.fromEntries(params),
          octetString: binding === 'redirect' ? octetString(url, 'SAMLRequest') : '',
        });
      } catch (error) {
        throw new HttpError(400, `LogoutRequest rejected: ${describe(error)}`);
      }
      const extract = parsed.extract as {
        nameID?: string;
        sessionIndex?: string;
        issuer?: string;
        request?: { id?: string };
      };
      idp.logoutRequestsReceived.push({
        xml: parsed.samlContent,
        ...(extract.nameID ? { nameId: extract.nameID } : {}),
        ...(typeof extract.sessionIndex === 'string' ? { sessionIndex: extract.sessionIndex } : {}),
      });
      if (extract.issuer !== options.sp.entityId) {
        throw new HttpError(400, `unknown SP issuer ${String(extract.issuer)}`);
      }
      if (!options.sp.sloUrl) {
        sendHtml(res, '<!doctype html><title>Logged out</title><p>Logged out at the IdP.</p>');
        return;
      }
      const relayState = params.get('RelayState') ?? undefined;
      const { context } = samlIdp.createLogoutResponse(
        sp,
        { extract: { request: { id: extract.request?.id ?? '' } } },
        'redirect',
        { relayState: relayState ?? '' },
      );
      res.writeHead(302, { location: context, 'cache-control': 'no-store' }).end();
      return;
    }
    if (params.get('SAMLResponse')) {
      const parsed = await parseLogoutResponse(
        binding === 'post' ? { form: params } : { query: params },
        url,
      );
      sendHtml(res, `<!doctype html><title>Logged out</title><p>Logout ${escapeXml(parsed.status)}.</p>`);
      return;
    }
    throw new HttpError(400, 'SAMLRequest or SAMLResponse missing');
  }

  async function parseLogoutResponse(
    input: { query?: URLSearchParams; form?: URLSearchParams },
    requestUrl?: URL,
  ): Promise<{ status: string; inResponseTo?: string }> {
    const binding = input.form ? 'post' : 'redirect';
    const params = input.form ?? input.query;
    const message = params?.get('SAMLResponse');
    if (!params || !message) throw new Error('no SAMLResponse');
    const xml = binding === 'post' ? decodeBase64(message) : inflate(message);
    const statusFields = Extractor.extract(xml, Extractor.logoutResponseStatusFields) as { top?: string };
    const fields = Extractor.extract(xml, Extractor.logoutResponseFields) as {
      response?: { inResponseTo?: string };
    };
    const status = statusFields.top ?? '';
    const inResponseTo = fields.response?.inResponseTo;
    const signed = binding === 'post' ? /<(\w+:)?Signature\b/.test(xml) : params.has('Signature');
    const verify = signed && options.sp.signingCertificatePem !== undefined;
    if (status === STATUS_SUCCESS || verify) {
      // samlify checks schema, issuer and (when verify) the signature; it refuses non-Success statuses.
      const { idp: samlIdp, sp } = entities(options, { logoutResponseSigned: verify });
      try {
        await samlIdp.parseLogoutResponse(sp, binding, {
          query: Object.fromEntries(params),
          body: Object.fromEntries(params),
          octetString:
            binding === 'redirect' ? octetString(requestUrl ?? queryUrl(params), 'SAMLResponse') : '',
        });
      } catch (error) {
        if (!(status !== STATUS_SUCCESS && describe(error).includes('ERR_FAILED_STATUS'))) throw error;
      }
    }
    idp.logoutResponsesReceived.push({ xml, status, ...(inResponseTo ? { inResponseTo } : {}) });
    return { status, ...(inResponseTo ? { inResponseTo } : {}) };
  }

  async function createLogoutRequest(
    binding: 'redirect' | 'post',
    nameId: string,
    sessionIndex?: string,
  ): Promise<{ url?: string; html?: string; id: string }> {
    if (!options.sp.sloUrl) throw new Error('sp.sloUrl is not configured');
    const { idp: samlIdp, sp } = entities(options);
    const user = { logoutNameID: nameId, ...(sessionIndex ? { sessionIndex } : {}) };
    if (binding === 'redirect') {
      const { id, context } = samlIdp.createLogoutRequest(sp, 'redirect', user) as {
        id: string;
        context: string;
      };
      return { id, url: context };
    }
    const { id, context, entityEndpoint } = samlIdp.createLogoutRequest(sp, 'post', user) as {
      id: string;
      context: string;
      entityEndpoint: string;
    };
    return { id, html: autoPostPage(entityEndpoint, { SAMLRequest: context }) };
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', base);
    const route = async (): Promise<void> => {
      if (url.pathname === '/metadata' && req.method === 'GET') {
        res
          .writeHead(200, { 'content-type': 'application/samlmetadata+xml; charset=utf-8' })
          .end(metadataXml());
        return;
      }
      if (url.pathname === '/sso' && (req.method === 'GET' || req.method === 'POST')) {
        await handleSso(req, url, res);
        return;
      }
      if (url.pathname === '/slo' && (req.method === 'GET' || req.method === 'POST')) {
        await handleSlo(req, url, res);
        return;
      }
      if (url.pathname === '/idp-initiated' && req.method === 'GET') {
        const samlResponse = await createResponse(undefined);
        const relayState = url.searchParams.get('RelayState') ?? undefined;
        sendHtml(
          res,
          autoPostPage(options.sp.acsUrl, { SAMLResponse: samlResponse, RelayState: relayState }),
        );
        return;
      }
      throw new HttpError(404, 'not found');
    };
    route().catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      if (!res.headersSent) res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(describe(error));
    });
  });

  const idp: RunningSamlIdp = {
    entityId,
    ssoUrl,
    sloUrl,
    metadataUrl: entityId,
    idpInitiatedUrl,
    signingCertificatePem: keys.certificatePem,
    sha1Fingerprint: keys.sha1Fingerprint,
    sha256Fingerprint: keys.sha256Fingerprint,
    get user() {
      return options.user;
    },
    set user(user: SamlUser) {
      options.user = user;
    },
    get options() {
      return options;
    },
    set options(next: SamlIdpOptions) {
      options = next;
    },
    authnRequests: [],
    logoutRequestsReceived: [],
    logoutResponsesReceived: [],
    createResponse,
    createLogoutRequest,
    parseLogoutResponse: (input) => parseLogoutResponse(input),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
  return idp;
}

interface ResponseIds {
  issuer: string;
  inResponseTo: string | undefined;
  sessionIndex: string;
  responseId: string;
  assertionId: string;
}

/** The unsigned Response XML (one line, no insignificant whitespace). */
function responseXml(o: SamlIdpOptions, ids: ResponseIds): string {
  const offsetMs = (o.timeOffsetSeconds ?? 0) * 1000;
  const now = Date.now() + offsetMs;
  const instant = (ms: number): string => new Date(ms).toISOString();
  const lifetimeMs = (o.assertionLifetimeSeconds ?? 300) * 1000;
  const issueInstant = instant(now);
  const notOnOrAfter = instant(now + lifetimeMs);
  const inResponseTo = ids.inResponseTo === undefined ? '' : ` InResponseTo="${escapeXml(ids.inResponseTo)}"`;
  const issuer = `<saml:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">${escapeXml(ids.issuer)}</saml:Issuer>`;
  const code = o.status?.code ?? STATUS_SUCCESS;
  const subCode = o.status?.subCode ? `<samlp:StatusCode Value="${escapeXml(o.status.subCode)}"/>` : '';
  const statusMessage = o.status?.message
    ? `<samlp:StatusMessage>${escapeXml(o.status.message)}</samlp:StatusMessage>`
    : '';
  const status = `<samlp:Status><samlp:StatusCode Value="${escapeXml(code)}">${subCode}</samlp:StatusCode>${statusMessage}</samlp:Status>`;

  let assertion = '';
  if (code === STATUS_SUCCESS) {
    const user = o.user;
    const nameIdFormat = NAMEID_FORMAT[user.nameIdFormat ?? 'unspecified'];
    const sessionNotOnOrAfter =
      o.sessionNotOnOrAfterSeconds === undefined
        ? ''
        : ` SessionNotOnOrAfter="${instant(now + o.sessionNotOnOrAfterSeconds * 1000)}"`;
    const attributes = Object.entries(user.attributes)
      .map(([name, value]) => {
        const values = (Array.isArray(value) ? value : [value])
          .map((v) => `<saml:AttributeValue xsi:type="xs:string">${escapeXml(v)}</saml:AttributeValue>`)
          .join('');
        const nameFormat = /^(urn:|https?:)/.test(name)
          ? 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri'
          : 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic';
        return `<saml:Attribute Name="${escapeXml(name)}" NameFormat="${nameFormat}">${values}</saml:Attribute>`;
      })
      .join('');
    assertion =
      `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="${ids.assertionId}" Version="2.0" IssueInstant="${issueInstant}">` +
      issuer +
      `<saml:Subject><saml:NameID Format="${nameIdFormat}">${escapeXml(user.nameId)}</saml:NameID>` +
      `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${notOnOrAfter}" Recipient="${escapeXml(o.sp.acsUrl)}"${inResponseTo}/></saml:SubjectConfirmation></saml:Subject>` +
      `<saml:Conditions NotBefore="${instant(now - 30_000)}" NotOnOrAfter="${notOnOrAfter}"><saml:AudienceRestriction><saml:Audience>${escapeXml(o.sp.entityId)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
      `<saml:AuthnStatement AuthnInstant="${issueInstant}" SessionIndex="${ids.sessionIndex}"${sessionNotOnOrAfter}><saml:AuthnContext><saml:AuthnContextClassRef>${escapeXml(user.authnContextClassRef ?? DEFAULT_AUTHN_CONTEXT)}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
      (attributes ? `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>` : '') +
      '</saml:Assertion>';
  }
  return (
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${ids.responseId}" Version="2.0" IssueInstant="${issueInstant}" Destination="${escapeXml(o.sp.acsUrl)}"${inResponseTo}>` +
    issuer +
    status +
    assertion +
    '</samlp:Response>'
  );
}

/** An HTML page that POSTs the fields to `action` on load (parseable by browserless-login.ts). */
export function autoPostPage(action: string, fields: Record<string, string | undefined>): string {
  const inputs = Object.entries(fields)
    .filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '')
    .map(([name, value]) => `<input type="hidden" name="${escapeXml(name)}" value="${escapeXml(value)}"/>`)
    .join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Continue</title></head>
<body onload="document.forms[0].submit()">
<form method="post" action="${escapeXml(action)}">
${inputs}
<noscript><button type="submit">Continue</button></noscript>
</form>
</body></html>
`;
}

/** SAML IDs must be NCNames: start with a letter or underscore. */
function newId(): string {
  return `_${randomBytes(20).toString('hex')}`;
}

function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function decodeBase64(value: string): string {
  return Buffer.from(value, 'base64').toString('utf8');
}

function inflate(value: string): string {
  return inflateRawSync(Buffer.from(value, 'base64')).toString('utf8');
}

/**
 * The HTTP-Redirect binding signs `SAMLRequest=…&RelayState=…&SigAlg=…` exactly as the
 * sender URL-encoded it, so rebuild it from the raw query, not from decoded values.
 */
function octetString(url: URL, messageParam: 'SAMLRequest' | 'SAMLResponse'): string {
  const raw = new Map<string, string>();
  for (const part of url.search.replace(/^\?/, '').split('&')) {
    const eq = part.indexOf('=');
    if (eq > 0) raw.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return [messageParam, 'RelayState', 'SigAlg']
    .filter((name) => raw.has(name))
    .map((name) => `${name}=${raw.get(name)}`)
    .join('&');
}

/** For parseLogoutResponse given decoded params only: re-encode them the standard way. */
function queryUrl(params: URLSearchParams): URL {
  const url = new URL('http://127.0.0.1/');
  url.search = [...params].map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  return url;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function sendHtml(res: ServerResponse, html: string): void {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
