/** A SCIM client for tests: calls handleScimRequest as the lead's route would, and records change events. */
import { expect } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import type { DeletionMode } from '../../src/scim/deletion.ts';
import { type Directory, MemoryDirectory } from '../../src/scim/directory.ts';
import { handleScimRequest, type ScimChangeEvent, type ScimLimits } from '../../src/scim/handler.ts';

export const BASE = 'https://app.example/.sluss/scim/v2';
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

// biome-ignore lint/suspicious/noExplicitAny: test responses are inspected freely
export type Body = any;

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: Body;
}

export function scimClient(
  options: {
    tenant?: string;
    directory?: Directory;
    deletion?: DeletionMode;
    limits?: Partial<ScimLimits>;
    /** Runs after the event is recorded (e.g. to fail like a revocation that could not be stored). */
    onChange?: (event: ScimChangeEvent) => void | Promise<void>;
  } = {},
) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
  const directory = options.directory ?? new MemoryDirectory();
  const events: ScimChangeEvent[] = [];
  const errors: unknown[] = [];
  const tenant = options.tenant ?? 'acme';
  async function call(
    method: string,
    target: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply> {
    const [path = '', search = ''] = target.split('?', 2);
    // Bodies go through JSON as they would on the wire.
    const parsed = body === undefined ? undefined : JSON.parse(JSON.stringify(body));
    const context = {
      tenant,
      directory,
      clock,
      baseUrl: `${BASE}/`,
      onChange: (e: ScimChangeEvent) => {
        events.push(e);
        return options.onChange?.(e);
      },
      onError: (e: unknown) => {
        errors.push(e);
      },
      ...(options.deletion ? { deletion: options.deletion } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
    };
    const reply = await handleScimRequest(
      {
        method,
        path,
        query: new URLSearchParams(search),
        headers: { authorization: 'Bearer x', ...headers },
        body: parsed,
      },
      context,
    );
    if (reply.body !== undefined) {
      // Every body must survive JSON (what the route sends).
      expect(JSON.parse(JSON.stringify(reply.body))).toEqual(reply.body);
      expect(reply.headers['Content-Type']).toBe('application/scim+json; charset=utf-8');
    }
    return reply as Reply;
  }
  return { call, clock, directory, events, errors, tenant };
}

/** Asserts an RFC 7644 §3.12 error body. */
export function expectError(reply: Reply, status: number, scimType?: string): void {
  expect(reply.status).toBe(status);
  expect(reply.body.schemas).toEqual([ERROR_SCHEMA]);
  expect(reply.body.status).toBe(String(status));
  expect(typeof reply.body.detail).toBe('string');
  if (scimType === undefined) expect(reply.body.scimType).toBeUndefined();
  else expect(reply.body.scimType).toBe(scimType);
}

/** Asserts the meta block of a resource. */
export function expectMeta(body: Body, resourceType: 'User' | 'Group', version: number): void {
  expect(body.meta).toEqual({
    resourceType,
    created: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    lastModified: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    location: `${BASE}/${resourceType}s/${body.id}`,
    version: `W/"${version}"`,
  });
}

export const patchOf = (...operations: unknown[]) => ({ schemas: [PATCH_SCHEMA], Operations: operations });
