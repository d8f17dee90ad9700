/**
 * Per-tenant colours made safe: only `#rrggbb` (or `#rgb`) values get into the
 * CSS, and every text colour is checked against WCAG 2.x contrast (4.5:1 for
 * text, 3:1 for a control's edge). A brand colour that would be unreadable is
 * kept for large surfaces only and text falls back to a readable colour.
 */

/** Per-tenant look of the pages. Colours are hex, `#rrggbb`. */
export interface Branding {
  readonly title: string;
  readonly primaryColor?: string;
  readonly backgroundColor?: string;
}

/** The colours the stylesheet uses, all normalised `#rrggbb`. */
export interface Theme {
  /** Button and accent surface. */
  readonly primary: string;
  /** Text on `primary`. */
  readonly onPrimary: string;
  /** Edge of a `primary` button: `primary` itself when it stands out from the card, else dark. */
  readonly primaryBorder: string;
  /** Link text on the white card. */
  readonly link: string;
  /** Page background around the card. */
  readonly background: string;
  /** Text on `background` (the tenant title above the card). */
  readonly onBackground: string;
}

export const TEXT_COLOR = '#1c1e21';
export const MUTED_TEXT_COLOR = '#4a4f57';
export const CARD_COLOR = '#ffffff';
export const DEFAULT_PRIMARY = '#0b57d0';
export const DEFAULT_BACKGROUND = '#f4f5f7';
/** WCAG AA for normal text. */
export const MIN_TEXT_CONTRAST = 4.5;
/** WCAG AA for user-interface components (1.4.11). */
export const MIN_UI_CONTRAST = 3;

type Rgb = readonly [number, number, number];

/** `#rrggbb` or `#rgb` (any case) to lower-case `#rrggbb`; anything else is `undefined`. */
export function normalizeHexColor(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = value.trim().toLowerCase();
  if (/^#[0-9a-f]{6}$/.test(text)) return text;
  const short = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/.exec(text);
  if (short) return `#${short[1]}${short[1]}${short[2]}${short[2]}${short[3]}${short[3]}`;
  return undefined;
}

function toRgb(hex: string): Rgb {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}

function toHex([r, g, b]: Rgb): string {
  return `#${[r, g, b].map((c) => Math.round(c).toString(16).padStart(2, '0')).join('')}`;
}

/** WCAG 2.x relative luminance of a `#rrggbb` colour. */
export function relativeLuminance(hex: string): number {
  const [r, g, b] = toRgb(hex);
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

function linear(channel: number): number {
  const c = channel / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

/** WCAG 2.x contrast ratio, 1 to 21. */
export function contrastRatio(a: string, b: string): number {
  const la = relativeLuminance(a);
  const lb = relativeLuminance(b);
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

/**
 * Dark text or white, whichever reads better on `surface`; on mid-tones where
 * neither reaches 4.5:1, pure black or white (one of which always does).
 */
export function readableTextOn(surface: string): string {
  const best =
    contrastRatio(TEXT_COLOR, surface) >= contrastRatio(CARD_COLOR, surface) ? TEXT_COLOR : CARD_COLOR;
  if (contrastRatio(best, surface) >= MIN_TEXT_CONTRAST) return best;
  return contrastRatio('#000000', surface) >= contrastRatio('#ffffff', surface) ? '#000000' : '#ffffff';
}

/** `color` darkened toward black just enough to reach `minimum` against `surface`. */
function darkenUntil(color: string, surface: string, minimum: number): string {
  const rgb = toRgb(color);
  for (let step = 0; step <= 20; step++) {
    const factor = 1 - step * 0.05;
    const candidate = toHex([rgb[0] * factor, rgb[1] * factor, rgb[2] * factor]);
    if (contrastRatio(candidate, surface) >= minimum) return candidate;
  }
  return TEXT_COLOR;
}

export function themeFor(branding: Branding | undefined): Theme {
  const primary = normalizeHexColor(branding?.primaryColor) ?? DEFAULT_PRIMARY;
  const background = normalizeHexColor(branding?.backgroundColor) ?? DEFAULT_BACKGROUND;
  return {
    primary,
    onPrimary: readableTextOn(primary),
    primaryBorder: contrastRatio(primary, CARD_COLOR) >= MIN_UI_CONTRAST ? primary : TEXT_COLOR,
    link:
      contrastRatio(primary, CARD_COLOR) >= MIN_TEXT_CONTRAST
        ? primary
        : darkenUntil(primary, CARD_COLOR, MIN_TEXT_CONTRAST),
    background,
    onBackground: readableTextOn(background),
  };
}
