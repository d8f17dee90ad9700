/**
 * Safe XML intake for everything SAML that reaches sluss (responses, logout
 * messages, IdP metadata): bounded size, no DTDs at all (so no entity
 * expansion and nothing external is ever read), parse errors are refusals.
 */
import { inflateRawSync } from 'node:zlib';
import { DOMParser } from '@xmldom/xmldom';
import { SlussError } from '../../errors.ts';

export const SAML_NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  metadata: 'urn:oasis:names:tc:SAML:2.0:metadata',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
} as const;

/** Base64 SAMLResponse/SAMLRequest larger than this is refused before decoding. */
export const MAX_SAML_MESSAGE_BASE64 = 512 * 1024;

export function refused(message: string, cause?: unknown): SlussError {
  return new SlussError('ERR_SAML_RESPONSE_INVALID', message, cause === undefined ? undefined : { cause });
}

/** Decodes a POSTed SAML message (base64 of the XML). */
export function decodePostedMessage(base64: string): string {
  if (base64.length === 0 || base64.length > MAX_SAML_MESSAGE_BASE64)
    throw refused('The SAML message is missing or too large.');
  if (!/^[A-Za-z0-9+/=\s]+$/.test(base64)) throw refused('The SAML message is not base64.');
  return Buffer.from(base64, 'base64').toString('utf8');
}

/** An inflated Redirect-binding message larger than this is refused (logout messages are a few KiB). */
export const MAX_SAML_REDIRECT_XML_BYTES = 64 * 1024;

/**
 * Decodes a Redirect-binding SAML message (base64 of raw DEFLATE). The
 * output is bounded while inflating, so a decompression bomb costs nothing.
 */
export function decodeRedirectMessage(base64: string): string {
  if (base64.length === 0 || base64.length > MAX_SAML_MESSAGE_BASE64)
    throw refused('The SAML message is missing or too large.');
  if (!/^[A-Za-z0-9+/=\s]+$/.test(base64)) throw refused('The SAML message is not base64.');
  try {
    return inflateRawSync(Buffer.from(base64, 'base64'), {
      maxOutputLength: MAX_SAML_REDIRECT_XML_BYTES,
    }).toString('utf8');
  } catch (error) {
    throw refused('The SAML message is not valid DEFLATE data or inflates too large.', error);
  }
}

/**
 * Parses XML that must not carry a DTD. A DOCTYPE (entity declarations,
 * external entities) is refused before parsing: SAML never needs one.
 */
export function parseXml(xml: string): Document {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml))
    throw refused('The SAML message carries a DOCTYPE, which is never allowed.');
  const problems: string[] = [];
  const document = new DOMParser({
    errorHandler: (level: string, message: unknown) => {
      if (level !== 'warning') problems.push(String(message));
    },
  }).parseFromString(xml, 'text/xml');
  if (problems.length > 0 || !document?.documentElement) {
    throw refused('The SAML message is not well-formed XML.', new Error(problems.join('; ')));
  }
  return document as unknown as Document;
}

/** Child elements of `parent` with this namespace and local name. */
export function children(parent: Element, namespace: string, localName: string): Element[] {
  const out: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 1) {
      const element = node as Element;
      if (element.namespaceURI === namespace && element.localName === localName) out.push(element);
    }
  }
  return out;
}

/** All descendant elements with this namespace and local name. */
export function descendants(root: Element | Document, namespace: string, localName: string): Element[] {
  return Array.from(root.getElementsByTagNameNS(namespace, localName) as unknown as ArrayLike<Element>);
}

/** The text of an element, comments and all child nodes included (no first-text-node shortcut). */
export function textOf(element: Element): string {
  return (element.textContent ?? '').trim();
}

/** True when any signature in the tree uses RSA-SHA1 or a SHA-1 reference digest. */
export function usesSha1(root: Element | Document): boolean {
  const digests = descendants(root, SAML_NS.dsig, 'DigestMethod').filter(
    (element) => (element.parentNode as Element | null)?.localName === 'Reference',
  );
  return [...descendants(root, SAML_NS.dsig, 'SignatureMethod'), ...digests].some((element) =>
    /[#-]sha1$/i.test(element.getAttribute('Algorithm') ?? ''),
  );
}
