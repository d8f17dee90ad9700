import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '../../src/errors.ts';
import {
  CATALOGUE,
  DENIED_REASONS,
  deniedReasonKey,
  ERROR_TEXT,
  formatHtml,
  LANGUAGES,
  type Language,
  negotiateLanguage,
} from '../../src/pages/i18n.ts';

describe('negotiateLanguage', () => {
  const table: [string | undefined, Language][] = [
    [undefined, 'en'],
    ['', 'en'],
    ['de', 'de'],
    ['de-CH', 'de'],
    ['de-AT,de;q=0.9,en;q=0.5', 'de'],
    ['sv-SE', 'sv'],
    ['SV-se', 'sv'],
    ['sv-FI,fi;q=0.9', 'sv'],
    ['nl-BE', 'nl'],
    ['nl', 'nl'],
    ['en-GB,en;q=0.9', 'en'],
    ['nb', 'en'],
    ['nb-NO,nn;q=0.9', 'en'],
    ['nb,sv;q=0.8,en;q=0.5', 'sv'],
    ['fr-FR,fr;q=0.9,de;q=0.8', 'de'],
    ['en;q=0.5,nl;q=0.9', 'nl'],
    ['en;q=0.8, de;q=0.8', 'en'],
    ['de;q=0.8, en;q=0.8', 'de'],
    ['de;q=0, nl', 'nl'],
    ['de;q=0', 'en'],
    ['*', 'en'],
    ['*;q=0.1,sv;q=0.2', 'sv'],
    ['fr, *;q=0.5', 'en'],
    [' de-DE ; q=1.0 , en ; q=0.3', 'de'],
    ['de;q=2, sv;q=0.5', 'sv'],
    ['de;q=abc, nl;q=0.4', 'de'],
    ['x-klingon, nl', 'nl'],
    ['<script>, sv', 'sv'],
    [',,;;,', 'en'],
    ['gsw-CH', 'en'],
  ];
  it.each(table)('%j → %s', (header, expected) => {
    expect(negotiateLanguage(header)).toBe(expected);
  });

  it('copes with an absurdly long header', () => {
    expect(negotiateLanguage(`${'fr;q=0.9,'.repeat(10_000)}sv`)).toBe('en');
    expect(negotiateLanguage(`sv,${'x'.repeat(100_000)}`)).toBe('sv');
  });
});

describe('catalogue', () => {
  const englishKeys = Object.keys(CATALOGUE.en).sort();

  it('has the four languages', () => {
    expect(Object.keys(CATALOGUE).sort()).toEqual([...LANGUAGES].sort());
  });

  it.each(LANGUAGES)('%s has every key, none empty, no extra', (lang) => {
    const messages = CATALOGUE[lang];
    expect(Object.keys(messages).sort()).toEqual(englishKeys);
    for (const [key, text] of Object.entries(messages)) {
      expect(text.trim(), `${lang} ${key}`).not.toBe('');
    }
  });

  it.each(LANGUAGES)('%s keeps the placeholders of the English text', (lang) => {
    for (const [key, english] of Object.entries(CATALOGUE.en)) {
      const placeholders = (s: string) => (s.match(/\{[a-zA-Z]+\}/g) ?? []).sort();
      const translated = CATALOGUE[lang][key as keyof typeof CATALOGUE.en];
      expect(placeholders(translated), `${lang} ${key}`).toEqual(placeholders(english));
    }
  });

  it('is actually translated (no language is a copy of English)', () => {
    for (const lang of LANGUAGES.filter((l) => l !== 'en')) {
      const same = Object.entries(CATALOGUE[lang]).filter(
        ([key, text]) => CATALOGUE.en[key as keyof typeof CATALOGUE.en] === text,
      );
      expect(same, lang).toEqual([]);
    }
  });

  it('has error-page text for every ErrorCode in every language', () => {
    const codes = Object.keys(ERROR_CODES) as ErrorCode[];
    expect(Object.keys(ERROR_TEXT).sort()).toEqual([...codes].sort());
    for (const code of codes) {
      const text = ERROR_TEXT[code];
      for (const lang of LANGUAGES) {
        expect(CATALOGUE[lang][text.heading], `${lang} ${code} heading`).toBeTruthy();
        expect(CATALOGUE[lang][text.body], `${lang} ${code} body`).toBeTruthy();
      }
    }
  });

  it('has wording for each named access-denied reason and a generic fallback', () => {
    for (const reason of [
      'group-not-allowed',
      'email-domain-not-allowed',
      'path-not-allowed',
      'user-deactivated',
      'user-unknown',
      'idp-mismatch',
      'identity-incomplete',
    ]) {
      expect(DENIED_REASONS).toContain(reason);
      const key = deniedReasonKey(reason);
      expect(key).toBe(`denied.${reason}`);
      for (const lang of LANGUAGES) expect(CATALOGUE[lang][key]).toBeTruthy();
    }
    expect(deniedReasonKey('something-new')).toBe('denied.generic');
    expect(deniedReasonKey('toString')).toBe('denied.generic');
  });

  it('formatHtml escapes the template and inserts trusted HTML', () => {
    expect(formatHtml('en', 'chooser.heading', { title: '<b>x</b>' })).toBe('Sign in to <b>x</b>');
    expect(formatHtml('en', 'homeRealm.hint')).toBe(
      'We&#39;ll take you to your organisation&#39;s sign-in page.',
    );
  });
});
