/**
 * The inventory of a backend: every state object in its bucket, read once each, with its
 * locks and digest taken from one Scan of the lock table and one listing of the bucket
 * (never a call per state for them), and the anomalies those listings show.
 */
import { splitStatePath } from './backend';
import { compareDigest, digestMd5 } from './cmd-digest';
import { FoundLock, LOCK_FILE_SUFFIX, lockCreated, ListedObject, listObjects, mapLimit, Ops, readLockFiles, scanTable } from './locks';
import { getObject, summarizeState } from './state';
import { countInstances } from './state-diff';

/** How many state objects are read at once. */
export const INVENTORY_CONCURRENCY = 16;

/** The digest status of a state: `n/a` where the backend has no lock table (so no digests). */
export type InventoryDigest = 'match' | 'mismatch' | 'missing' | 'n/a';

export interface InventoryState {
  readonly path: string;
  readonly workspace: string;
  readonly key: string;
  readonly serial: number;
  readonly lineage: string;
  readonly terraformVersion: string | null;
  /** Resource instances, as `terraform state list` lists them (data sources included). */
  readonly resources: number;
  readonly size: number;
  readonly lastModified?: Date;
  readonly versionId: string | null;
  readonly md5: string;
  readonly locks: readonly FoundLock[];
  readonly digest: InventoryDigest;
  /** The stored Digest, when there is one. */
  readonly digestValue: string | null;
}

export type AnomalyKind = 'orphan-digest' | 'orphan-lock' | 'no-resources' | 'stale' | 'not-a-state';

export interface Anomaly {
  readonly kind: AnomalyKind;
  /** The state path the anomaly is about. */
  readonly path: string;
  readonly detail: string;
}

export interface Inventory {
  readonly states: InventoryState[];
  readonly anomalies: Anomaly[];
  /** Objects listed in the bucket (under --prefix). */
  readonly objectsListed: number;
  /** Objects read (GetObject): the candidates. */
  readonly objectsRead: number;
  /** Objects not read: not states by name, and not named by a lock or digest (up to 5 examples). */
  readonly notRead: { readonly count: number; readonly examples: readonly string[] };
  /** `.tflock` objects listed and not read, because the backend does not use lock files. */
  readonly lockFilesNotRead: number;
}

export interface InventoryOptions {
  readonly prefix?: string;
  readonly staleAfterMs?: number;
  /** Called as states are read (done, total). */
  readonly progress?: (done: number, total: number) => void;
}

/**
 * Whether an object key is a state by its name: it ends in `.tfstate`, or is the backend's
 * key in the default or in a workspace (`<workspace_key_prefix>/<workspace>/<key>`).
 * An object that a lock or a digest names is read too (see `collectInventory`).
 */
export function isStateKey(objectKey: string, workspaceKeyPrefix: string, backendKey?: string): boolean {
  if (objectKey.endsWith(LOCK_FILE_SUFFIX)) return false;
  if (objectKey.endsWith('.tfstate')) return true;
  if (backendKey === undefined) return false;
  return objectKey === backendKey || splitStatePath(objectKey, workspaceKeyPrefix, backendKey).key === backendKey;
}

/** A read candidate: a state, or why not. */
type Read = { state: InventoryState } | { notState: string } | undefined;

/**
 * The anomalies of an inventory from its parts (pure, for tests): digests and locks whose
 * state is not there, states with no resources, states not written for `staleAfterMs`;
 * `notStates` (objects read that are no state) are sorted in with them.
 */
export function findAnomalies(
  states: readonly InventoryState[], digests: ReadonlyMap<string, string>, locks: readonly FoundLock[], now: Date, staleAfterMs?: number,
  notStates: readonly Anomaly[] = [],
): Anomaly[] {
  const paths = new Set(states.map((s) => s.path));
  const out: Anomaly[] = [...notStates];
  for (const [path, value] of digests) {
    if (!paths.has(path)) out.push({ kind: 'orphan-digest', path, detail: `digest item ${JSON.stringify(value)} with no state object` });
  }
  for (const l of locks) {
    if (!paths.has(l.statePath)) {
      out.push({ kind: 'orphan-lock', path: l.statePath, detail: `${l.kind === 'dynamodb' ? 'lock item' : 'lock file'} ${l.info?.ID ? `ID ${l.info.ID} ` : ''}with no state object` });
    }
  }
  for (const s of states) {
    if (s.resources === 0) out.push({ kind: 'no-resources', path: s.path, detail: `serial ${s.serial}: no resources (destroyed, or never applied)` });
    if (staleAfterMs !== undefined && s.lastModified && now.getTime() - s.lastModified.getTime() >= staleAfterMs) {
      out.push({ kind: 'stale', path: s.path, detail: `last written ${s.lastModified.toISOString().replace(/\.\d{3}Z$/, 'Z')}` });
    }
  }
  const order: AnomalyKind[] = ['orphan-digest', 'orphan-lock', 'not-a-state', 'no-resources', 'stale'];
  return out.sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * The inventory: one listing of the bucket (ListObjectsV2, 1,000 keys a call), one Scan
 * of the lock table (locks and digests), one GetObject per lock file and per candidate
 * state, INVENTORY_CONCURRENCY at a time.
 */
export async function collectInventory(ops: Ops, options: InventoryOptions = {}): Promise<Inventory> {
  const { backend } = ops;
  const [objects, table] = await Promise.all([listObjects(ops, options.prefix), scanTable(ops)]);
  const inPrefix = (p: string) => options.prefix === undefined || p.startsWith(options.prefix);
  const tableLocks = table.locks.filter((l) => inPrefix(l.statePath));
  const digests = new Map([...table.digests].filter(([p]) => inPrefix(p)));
  const fileLocks = backend.useLockfile ? await readLockFiles(ops, objects.map((o) => o.key)) : [];
  const locks = [...tableLocks, ...fileLocks];
  const named = new Set([...digests.keys(), ...locks.map((l) => l.statePath)]);
  const candidates: ListedObject[] = [];
  const skipped: string[] = [];
  for (const o of objects) {
    if (o.key.endsWith(LOCK_FILE_SUFFIX)) continue;
    if (isStateKey(o.key, backend.workspaceKeyPrefix, backend.key) || named.has(o.key)) {
      candidates.push(o);
    } else {
      skipped.push(o.key);
    }
  }
  let done = 0;
  const reads: Read[] = await mapLimit(candidates, INVENTORY_CONCURRENCY, async (o): Promise<Read> => {
    const obj = await getObject(ops.s3, backend.bucket, o.key);
    options.progress?.(++done, candidates.length);
    if (!obj) return undefined; // deleted since it was listed
    if (obj.body.length === 0) return { notState: 'empty object (Terraform reads it as no state)' };
    const summary = summarizeState(obj.body);
    if (summary.problem) return { notState: summary.problem };
    let resources: number;
    try {
      resources = countInstances(obj.body);
    } catch (e) {
      return { notState: (e as Error).message };
    }
    const { workspace, key } = splitStatePath(o.key, backend.workspaceKeyPrefix, backend.key);
    const raw = digests.get(o.key);
    const status = compareDigest(obj.md5, digestMd5(raw));
    return {
      state: {
        path: o.key, workspace, key,
        serial: summary.serial!, lineage: summary.lineage!, terraformVersion: summary.terraformVersion ?? null,
        resources, size: obj.body.length, lastModified: obj.lastModified, versionId: obj.versionId ?? null, md5: obj.md5,
        locks: locks.filter((l) => l.statePath === o.key),
        digest: !backend.table ? 'n/a' : status === 'no-digest' ? 'missing' : status === 'match' ? 'match' : 'mismatch',
        digestValue: raw ?? null,
      },
    };
  });
  const states: InventoryState[] = [];
  const notStates: Anomaly[] = [];
  reads.forEach((r, i) => {
    if (r && 'state' in r) states.push(r.state);
    else if (r) notStates.push({ kind: 'not-a-state', path: candidates[i].key, detail: r.notState });
  });
  const anomalies = findAnomalies(states, digests, locks, ops.now(), options.staleAfterMs, notStates);
  return {
    states,
    anomalies,
    objectsListed: objects.length,
    objectsRead: candidates.length,
    notRead: { count: skipped.length, examples: skipped.slice(0, 5) },
    lockFilesNotRead: backend.useLockfile ? 0 : objects.filter((o) => o.key.endsWith(LOCK_FILE_SUFFIX)).length,
  };
}

export type InventorySort = 'path' | 'modified' | 'size' | 'serial';
export const INVENTORY_SORTS: readonly InventorySort[] = ['path', 'modified', 'size', 'serial'];

/** path: A to Z; modified: newest first; size: largest first; serial: highest first. */
export function sortStates<T extends InventoryState>(states: T[], by: InventorySort): T[] {
  const cmp: Record<InventorySort, (a: T, b: T) => number> = {
    path: (a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0),
    modified: (a, b) => (b.lastModified?.getTime() ?? 0) - (a.lastModified?.getTime() ?? 0),
    size: (a, b) => b.size - a.size,
    serial: (a, b) => b.serial - a.serial,
  };
  return [...states].sort((a, b) => cmp[by](a, b) || cmp.path(a, b));
}

/** When a lock was taken, in seconds ago. */
export function lockAgeSeconds(lock: FoundLock, now: Date): number | null {
  const created = lockCreated(lock);
  return created ? Math.floor((now.getTime() - created.getTime()) / 1000) : null;
}
