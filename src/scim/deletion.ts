/**
 * What DELETE means per tenant, and what happens to deleted users later.
 *
 * - `mark` (default): the user stays stored with `active: false` and `deletedAt`; SCIM hides
 *   it (GET → 404, lists skip it) and its userName is free for a new user.
 * - `delete`: removed for good.
 * - `anonymise`: kept (same `id` and `externalId`, so audit records still resolve) with every
 *   personal attribute dropped and userName replaced; hidden like `mark`.
 *
 * Every mode removes the user from all groups. A DELETE goes in two steps, with the session
 * revocation between them (see `markDeleted`). `runRetention` then acts on users marked more
 * than N days ago: delete them, anonymise them, or leave them.
 */
import type { Directory, StoredResource } from './directory.ts';
import { DirectoryVersionError, memberIds } from './directory.ts';
import type { JsonObject } from './json.ts';

export type DeletionMode = 'mark' | 'delete' | 'anonymise';
export type RetentionAction = 'delete' | 'anonymise' | 'nothing';

export interface DeletionPolicy {
  mode: DeletionMode;
  retention: { afterDays: number; action: RetentionAction };
}

export const DEFAULT_DELETION_POLICY: DeletionPolicy = {
  mode: 'mark',
  retention: { afterDays: 30, action: 'nothing' },
};

const DAY_MS = 24 * 60 * 60 * 1000;

/** Stored attributes with everything personal gone: only externalId, a placeholder userName and active=false. */
export function anonymiseAttributes(attributes: JsonObject, id: string): JsonObject {
  const out: JsonObject = { userName: `anonymised-${id}`, active: false };
  if (typeof attributes.externalId === 'string') out.externalId = attributes.externalId;
  return out;
}

/** Removes a user from every group's members; returns the groups changed (after the change). */
export async function removeFromAllGroups(
  directory: Directory,
  tenant: string,
  userId: string,
  nowIso: string,
): Promise<StoredResource[]> {
  const changed: StoredResource[] = [];
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const groups = await directory.groupsOf(tenant, userId);
    if (groups.length === 0) return changed;
    for (const group of groups) {
      if (!memberIds(group).includes(userId)) continue;
      const members = (group.attributes.members as JsonObject[]).filter((m) => m.value !== userId);
      const next: StoredResource = {
        ...group,
        attributes: { ...group.attributes, members },
        lastModified: nowIso,
        version: group.version + 1,
      };
      if (members.length === 0) delete next.attributes.members;
      try {
        await directory.replace(tenant, next, group.version);
        changed.push(next);
      } catch (error) {
        if (!(error instanceof DirectoryVersionError)) throw error;
      }
    }
  }
  return changed;
}

/**
 * Step one of a DELETE in every mode: the live user is written inactive and marked deleted,
 * attributes kept, so that a login is refused from here on and a retried DELETE can still
 * revoke the user's sessions by userName/externalId. Throws DirectoryVersionError when the
 * user changed concurrently (callers retry). Returns the marked user.
 */
export async function markDeleted(
  directory: Directory,
  tenant: string,
  user: StoredResource,
  now: number,
): Promise<StoredResource> {
  const nowIso = new Date(now).toISOString();
  const next: StoredResource = {
    ...user,
    attributes: { ...user.attributes, active: false },
    lastModified: nowIso,
    version: user.version + 1,
    deletedAt: nowIso,
  };
  await directory.replace(tenant, next, user.version);
  return next;
}

/**
 * Step two, once the sessions are revoked: what `mode` does to a user marked deleted, and
 * removing it from every group. Idempotent, so a retried DELETE finishes what a failed one
 * left. Returns the groups the user was removed from.
 */
export async function finishDeletion(
  directory: Directory,
  tenant: string,
  marked: StoredResource,
  mode: DeletionMode,
  now: number,
): Promise<StoredResource[]> {
  const nowIso = new Date(now).toISOString();
  if (mode === 'delete') {
    const groups = await directory.groupsOf(tenant, marked.id);
    await directory.delete(tenant, 'User', marked.id);
    return groups;
  }
  if (mode === 'anonymise' && marked.anonymisedAt === undefined) {
    const next: StoredResource = {
      ...marked,
      attributes: anonymiseAttributes(marked.attributes, marked.id),
      lastModified: nowIso,
      version: marked.version + 1,
      anonymisedAt: nowIso,
    };
    await directory.replace(tenant, next, marked.version);
  }
  return removeFromAllGroups(directory, tenant, marked.id, nowIso);
}

export interface RetentionResult {
  deleted: string[];
  anonymised: string[];
}

/** What retention did to one user, for the audit stream. */
export interface RetentionEvent {
  type: 'user-deleted';
  tenant: string;
  id: string;
  externalId?: string;
  at: string;
  deletion: 'delete' | 'anonymise';
  retention: true;
}

/**
 * Acts on users marked deleted at least `policy.retention.afterDays` days before `now`
 * (epoch ms): deletes them for good, anonymises them (once), or does nothing. The lead
 * schedules it per tenant; it is idempotent and safe to run on several replicas.
 */
export async function runRetention(
  directory: Directory,
  tenant: string,
  policy: DeletionPolicy,
  now: number,
  onChange?: (event: RetentionEvent) => void | Promise<void>,
): Promise<RetentionResult> {
  const result: RetentionResult = { deleted: [], anonymised: [] };
  const { action, afterDays } = policy.retention;
  if (action === 'nothing') return result;
  const cutoff = now - afterDays * DAY_MS;
  const due: StoredResource[] = [];
  const pageSize = 200;
  for (let start = 1; ; start += pageSize) {
    const page = await directory.list(tenant, 'User', {
      startIndex: start,
      count: pageSize,
      deleted: 'only',
    });
    for (const user of page.resources) {
      if (user.deletedAt === undefined || Date.parse(user.deletedAt) > cutoff) continue;
      if (action === 'anonymise' && user.anonymisedAt !== undefined) continue;
      due.push(user);
    }
    if (start + pageSize > page.total) break;
  }
  const at = new Date(now).toISOString();
  for (const user of due) {
    if (action === 'delete') {
      if (!(await directory.delete(tenant, 'User', user.id))) continue;
      result.deleted.push(user.id);
    } else {
      const next: StoredResource = {
        ...user,
        attributes: anonymiseAttributes(user.attributes, user.id),
        lastModified: at,
        version: user.version + 1,
        anonymisedAt: at,
      };
      try {
        await directory.replace(tenant, next, user.version);
      } catch (error) {
        if (error instanceof DirectoryVersionError) continue; // another replica got there first
        throw error;
      }
      result.anonymised.push(user.id);
    }
    const event: RetentionEvent = {
      type: 'user-deleted',
      tenant,
      id: user.id,
      at,
      deletion: action,
      retention: true,
    };
    if (typeof user.attributes.externalId === 'string') event.externalId = user.attributes.externalId;
    await onChange?.(event);
  }
  return result;
}
