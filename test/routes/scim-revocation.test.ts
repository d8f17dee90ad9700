/**
 * The SCIM change hook (onScimChange) with the real StoreRevocationView: a deactivation or
 * deletion is answered only once the revocation is in the store, and a 500 (so the IdP
 * retries) when it could not be stored.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import type { Components } from '../../src/components.ts';
import type { ScimConfig } from '../../src/config/schema.ts';
import { onScimChange } from '../../src/routes/scim.ts';
import { MemoryDirectory } from '../../src/scim/directory.ts';
import { handleScimRequest } from '../../src/scim/handler.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import type { RevocationBus, RevocationEvent } from '../../src/store/revocation-bus.ts';
import { StoreRevocationView } from '../../src/store/revocation-view.ts';
import type { Tenant } from '../../src/tenancy/tenants.ts';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

const views: StoreRevocationView[] = [];
afterEach(async () => {
  for (const view of views.splice(0)) await view.stop();
});

async function setup() {
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
  const store = new MemoryStore(clock);
  const state = { down: false };
  // Publishing takes a few turns of the event loop, as a network round trip to Redis does.
  const bus: RevocationBus = {
    publishRevocation: async (event: RevocationEvent) => {
      await nextTurn();
      await nextTurn();
      if (state.down) throw new Error('store unavailable');
      await store.publishRevocation(event);
    },
    subscribeRevocations: (handler) => store.subscribeRevocations(handler),
    loadRevocations: () => store.loadRevocations(),
    ping: async () => {},
    onStatusChange: () => () => {},
  };
  const revocations = new StoreRevocationView({ bus, clock, graceSeconds: 30, probeIntervalMs: 3_600_000 });
  views.push(revocations);
  await revocations.start();
  const audit: Record<string, unknown>[] = [];
  const errors: unknown[] = [];
  const components = {
    clock,
    revocations,
    audit: { record: (event: Record<string, unknown>) => audit.push(event) },
  } as unknown as Components;
  const tenant = { prefix: 'acme', config: { session: { maxAgeSeconds: 3600 } } } as unknown as Tenant;
  const scim = { idpUserIdAttribute: 'externalId' } as unknown as ScimConfig;
  const directory = new MemoryDirectory();
  const call = (method: string, path: string, body?: unknown) =>
    handleScimRequest(
      { method, path, query: new URLSearchParams(), headers: {}, body },
      {
        tenant: 'acme',
        directory,
        clock,
        baseUrl: 'https://app.example/.sluss/scim/v2',
        onChange: (event) => onScimChange(components, tenant, scim, event),
        onError: (error) => errors.push(error),
      },
    );
  const created = await call('POST', '/Users', {
    schemas: [USER],
    userName: 'Alice',
    externalId: 'ext-alice',
  });
  expect(created.status).toBe(201);
  const id = (created.body as { id: string }).id;
  const userKeys = async () =>
    (await store.loadRevocations()).flatMap((e) => (e.kind === 'user' ? [e.userKey] : [])).sort();
  return { state, call, id, userKeys, audit, errors };
}

const deactivate = { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] };
const changes = [
  ['a deactivation', 'PATCH', deactivate, 200],
  ['a deletion', 'DELETE', undefined, 204],
] as const;
/** By directory id, IdP user ID (externalId) and login (userName). */
const expectedKeys = (id: string) => [
  `acme\ndirectory\n${id}`,
  'acme\nidp-user\next-alice',
  'acme\nlogin\nalice',
];

describe('SCIM deprovisioning and the revocation store', () => {
  it.each(changes)(
    '%s is answered only once the revocation is in the store',
    async (_change, method, body, ok) => {
      const { call, id, userKeys, audit } = await setup();
      const response = await call(method, `/Users/${id}`, body);
      expect(response.status).toBe(ok);
      expect(await userKeys()).toEqual(expectedKeys(id));
      expect(audit).toContainEqual(expect.objectContaining({ type: 'session_revoked', sub: 'Alice' }));
    },
  );

  it.each(changes)(
    '%s whose revocation cannot be stored answers 500 with a SCIM error body; the retry completes it',
    async (_change, method, body, ok) => {
      const { state, call, id, userKeys, audit, errors } = await setup();
      state.down = true;
      const failed = await call(method, `/Users/${id}`, body);
      expect(failed.status).toBe(500);
      expect(failed.body).toMatchObject({ schemas: [ERROR], status: '500' });
      expect(errors).toHaveLength(1);
      expect(audit.filter((e) => e.type === 'session_revoked')).toEqual([]);

      state.down = false;
      // The IdP retries: a repeated deactivation, or a DELETE of a user already marked deleted (404).
      const retried = await call(method, `/Users/${id}`, body);
      expect(retried.status).toBe(method === 'DELETE' ? 404 : ok);
      expect(await userKeys()).toEqual(expectedKeys(id));
      expect(audit.filter((e) => e.type === 'session_revoked')).toHaveLength(1);
    },
  );
});
