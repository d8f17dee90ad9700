/** Every route sluss owns lives under this prefix; nothing else is intercepted. */
export const SLUSS_PREFIX = '/.sluss/';

export const PATHS = {
  login: '/.sluss/login',
  callback: '/.sluss/callback',
  backchannelLogout: '/.sluss/backchannel-logout',
  samlAcs: '/.sluss/saml/acs',
  samlSlo: '/.sluss/saml/slo',
  samlMetadata: '/.sluss/saml/metadata',
  logout: '/.sluss/logout',
  loggedOut: '/.sluss/logged-out',
  jwks: '/.sluss/jwks.json',
} as const;

export const ADMIN_PATHS = {
  health: '/healthz',
  ready: '/readyz',
  metrics: '/metrics',
} as const;
