/**
 * Config schemas for identity mapping (per IdP: `idps[].mapping`) and the tenant
 * access policy (`policy`). Validation compiles them, so a bad JSONPath or
 * domain is a config error at load time, never a failed login.
 */
import { z } from 'zod';
import { mappingSpecProblem, RELAXABLE_FIELDS } from '../identity/mapping.ts';
import { policyConfigProblem } from '../identity/policy.ts';
import { MAPPING_PRESET_NAMES } from '../identity/presets.ts';

const pathList = (field: string) =>
  z
    .union([z.string().min(1).max(1024), z.array(z.string().min(1).max(1024)).min(1).max(32)])
    .optional()
    .meta({
      description: `Paths for ${field}, tried in order (first usable value wins); replaces the preset's. A path is a JSONPath (\`$.a.b\`, \`$['urn:oid:2.5.4.42']\`), \`claim:<exact name>\`, a name with a \`:\` (SAML attribute URI, taken whole), or a shorthand split on \`pathSeparator\`. One string may join alternatives with \`fallbackSeparator\`.`,
    });

export const identityMappingSchema = z
  .strictObject({
    preset: z.enum(MAPPING_PRESET_NAMES).optional().meta({
      description:
        'Built-in mapping to start from: `entra`, `adfs`, `okta`, `keycloak`, `google`, `saml-generic`, `oidc-generic`. Default: `saml-generic` for SAML IdPs, `oidc-generic` for OIDC.',
    }),
    pathSeparator: z.string().min(1).max(4).default('.').meta({
      description: 'Separator of shorthand paths (`user.name`); e.g. `/` when claim names contain dots.',
    }),
    fallbackSeparator: z.string().max(4).default('|').meta({
      description: 'Joins fallback alternatives in one string (`email|upn`); empty to turn off.',
    }),
    groupsDelimiter: z.string().min(1).max(4).optional().meta({
      description: 'Also split each group value on this (e.g. `;` when the IdP joins groups in one value).',
    }),
    login: pathList('the login name (required)'),
    email: pathList('the email address (required)'),
    givenName: pathList('the given name (required)'),
    familyName: pathList('the family name (required)'),
    displayName: pathList('the display name (default: given and family name)'),
    groups: pathList('groups (values of all paths are merged)'),
    idpUserId: pathList('the stable user ID at the IdP (required; default `sub`, Entra `oid`)'),
    required: z.array(z.enum(RELAXABLE_FIELDS)).optional().meta({
      description:
        'Which of login, email, givenName, familyName must be found (default: all four); the IdP user ID always must.',
    }),
    groupsOverage: pathList(
      'the groups-overage signal (e.g. Entra `_claim_names.groups`): when one is present, a group denial says the IdP left groups out',
    ),
  })
  .superRefine((config, ctx) => {
    const {
      preset: _preset,
      pathSeparator,
      fallbackSeparator,
      groupsDelimiter,
      groupsOverage,
      required: _required,
      ...fields
    } = config;
    const problem = mappingSpecProblem({
      fields,
      syntax: { pathSeparator, fallbackSeparator },
      ...(groupsDelimiter !== undefined ? { groupsDelimiter } : {}),
      ...(groupsOverage !== undefined ? { groupsOverage } : {}),
    });
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .meta({
    description:
      'How claims/attributes become the user: a preset, and per-field path lists that replace its paths.',
  });

const groupName = z.string().min(1).max(1024);

export const accessPolicySchema = z
  .strictObject({
    groupWhitelist: z
      .strictObject({
        active: z.boolean().default(false).meta({ description: 'Only members of `groups` may sign in.' }),
        groups: z
          .array(groupName)
          .default([])
          .meta({ description: 'Allowed groups; active with an empty list lets nobody in.' }),
      })
      .default({ active: false, groups: [] })
      .meta({ description: 'Group whitelist, checked at login.' }),
    emailDomains: z.array(z.string().min(1).max(253)).default([]).meta({
      description:
        'Allowed email domains (case-insensitive): `example.com` exactly, `*.example.com` any subdomain (list both for both). Empty: any.',
    }),
    mfaRequired: z
      .boolean()
      .default(false)
      .meta({ description: 'Deny sign-in unless the IdP vouched for a second factor (see the IdP `mfa`).' }),
    pathRules: z
      .array(
        z.strictObject({
          path: z
            .string()
            .min(1)
            .max(1024)
            .meta({ description: 'Path prefix, matched at a `/` boundary (`/admin` covers `/admin/x`).' }),
          groups: z
            .array(groupName)
            .meta({ description: 'Groups that may reach it (one suffices); empty: nobody.' }),
        }),
      )
      .default([])
      .meta({
        description:
          'Per-path group rules, checked on every request; the longest matching prefix wins, the query never counts.',
      }),
    pathCaseSensitive: z
      .boolean()
      .default(false)
      .meta({ description: 'Match path rules case-sensitively (default: case-insensitive, safe for IIS).' }),
    groupsCaseInsensitive: z
      .boolean()
      .default(false)
      .meta({ description: 'Compare group names case-insensitively (default: exactly).' }),
    idpCheck: z.enum(['off', 'if-known', 'required']).default('off').meta({
      description:
        'Check the user signs in through the IdP they belong to: `if-known` denies another IdP, `required` also denies users without a known IdP.',
    }),
  })
  .superRefine((config, ctx) => {
    const problem = policyConfigProblem(config);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .meta({ description: 'Who may sign in to this tenant and reach which paths.' });

export type IdentityMappingConfig = z.infer<typeof identityMappingSchema>;
export type IdentityMappingConfigInput = z.input<typeof identityMappingSchema>;
export type AccessPolicyConfig = z.infer<typeof accessPolicySchema>;
export type AccessPolicyConfigInput = z.input<typeof accessPolicySchema>;

export const DEFAULT_ACCESS_POLICY: AccessPolicyConfig = accessPolicySchema.parse({});
