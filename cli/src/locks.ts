/**
 * Terraform's two kinds of state lock, read, taken, released and removed exactly as
 * Terraform's (and OpenTofu's) s3 backend does, with every removal conditioned on the
 * lock that was read, so a lock taken again in the meantime is never removed.
 *
 * - DynamoDB: item `{ LockID: "<bucket>/<state path>", Info: "<LockInfo JSON>" }`,
 *   taken with `attribute_not_exists(LockID)`, removed with `Info = :info` (OpenTofu's
 *   conditional delete). Digest items `<bucket>/<state path>-md5` hold a `Digest` and no
 *   `Info`: that, not the suffix, tells them apart (a state key may end in `-md5`).
 * - Lock file: object `<state path>.tflock` holding the LockInfo JSON, taken with
 *   `If-None-Match: *`, removed with `If-Match: <ETag>` (S3 conditional delete, which
 *   applies to the current version of the object).
 */
import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  ScanCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, ListObjectsV2Command, ListObjectsV2CommandOutput, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { aws, awsError, isConditionFailed, isNoSuchKey, s3Arn, tableResource } from './aws';
import { Backend } from './backend';
import { CliError, ExitCode } from './errors';
import { formatAge, formatOperation } from './format';
import { LockInfo, marshalLockInfo, parseGoTime, unmarshalLockInfo } from './lock-info';
import { encryptionParams, getObject } from './state';

/** What the lock commands need: the backend and its clients. */
export interface Ops {
  readonly backend: Backend;
  readonly s3: S3Client;
  /** Present when the backend has a lock table. */
  readonly dynamodb?: DynamoDBClient;
  readonly now: () => Date;
  /** A command line to suggest, with the run's backend options (default: the bare command). */
  readonly suggest?: (args: readonly string[]) => string;
}

export type LockKind = 'dynamodb' | 'lockfile';

/** A lock as found in the backend. */
export interface FoundLock {
  readonly kind: LockKind;
  /** The state object key the lock protects. */
  readonly statePath: string;
  /** DynamoDB: the item's LockID; lock file: the object key. */
  readonly location: string;
  /** The stored LockInfo bytes, exactly as read (the condition of a removal). */
  readonly raw: string;
  /** The LockInfo, unless `raw` could not be read as one. */
  readonly info?: LockInfo;
  /** Why `raw` is not a LockInfo. */
  readonly problem?: string;
  /** Lock file: the ETag of the version read. */
  readonly etag?: string;
  /** Lock file: the time S3 stored it. */
  readonly lastModified?: Date;
}

export const DIGEST_SUFFIX = '-md5';
export const LOCK_FILE_SUFFIX = '.tflock';

/** The LockID of a state's DynamoDB lock: `<bucket>/<state path>`. */
export function lockItemKey(bucket: string, statePath: string): string {
  return `${bucket}/${statePath}`;
}

/** The LockID of a state's digest item: `<bucket>/<state path>-md5`. */
export function digestItemKey(bucket: string, statePath: string): string {
  return `${lockItemKey(bucket, statePath)}${DIGEST_SUFFIX}`;
}

function parseLock(kind: LockKind, statePath: string, location: string, raw: string, extra: Partial<FoundLock> = {}): FoundLock {
  try {
    return { kind, statePath, location, raw, info: unmarshalLockInfo(raw), ...extra };
  } catch (e) {
    return { kind, statePath, location, raw, problem: `not a Terraform LockInfo: ${(e as Error).message}`, ...extra };
  }
}

/** When the lock was taken: LockInfo.Created, or the lock file's LastModified when Created is unreadable. */
export function lockCreated(lock: FoundLock): Date | undefined {
  return (lock.info && parseGoTime(lock.info.Created)) ?? lock.lastModified;
}

/** Runs `fn` on every item, at most `limit` at a time, keeping the order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** The items of the backend's bucket in its lock table: the lock items and the digest items. */
export interface TableItems {
  readonly locks: FoundLock[];
  /** Digest items by state path (`<bucket>/<state path>-md5`): the stored Digest, exactly. */
  readonly digests: Map<string, string>;
}

/**
 * Every item of the backend's bucket in its lock table, in one consistent Scan: lock
 * items (with Info) and digest items (with Digest and no Info). Empty without a table.
 */
export async function scanTable(ops: Ops): Promise<TableItems> {
  const { bucket, table, region } = ops.backend;
  const locks: FoundLock[] = [];
  const digests = new Map<string, string>();
  if (!ops.dynamodb || !table) {
    return { locks, digests };
  }
  const prefix = `${bucket}/`;
  let start: ScanCommandOutput['LastEvaluatedKey'];
  do {
    const page: ScanCommandOutput = await aws({ action: 'dynamodb:Scan', resource: tableResource(table, region) }, () => ops.dynamodb!.send(new ScanCommand({
      TableName: table,
      ConsistentRead: true,
      FilterExpression: 'begins_with(LockID, :prefix)',
      ExpressionAttributeValues: { ':prefix': { S: prefix } },
      ExclusiveStartKey: start,
    })));
    for (const item of page.Items ?? []) {
      const lockId = item.LockID?.S;
      if (lockId === undefined) {
        continue;
      }
      const info = item.Info?.S;
      const digest = item.Digest?.S;
      if (info !== undefined) {
        locks.push(parseLock('dynamodb', lockId.slice(prefix.length), lockId, info));
      } else if (digest !== undefined && lockId.endsWith(DIGEST_SUFFIX)) {
        digests.set(lockId.slice(prefix.length, -DIGEST_SUFFIX.length), digest);
      }
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return { locks, digests };
}

/** Every DynamoDB lock item of the backend's bucket (a consistent Scan; digest items, which have no Info, skipped). */
export async function scanLockItems(ops: Ops): Promise<FoundLock[]> {
  return (await scanTable(ops)).locks;
}

/** One object of a bucket listing. */
export interface ListedObject {
  readonly key: string;
  readonly size: number;
  readonly lastModified?: Date;
  readonly etag?: string;
}

/** Every current object of the bucket (under `prefix`), by ListObjectsV2, 1,000 a page. */
export async function listObjects(ops: Ops, prefix?: string): Promise<ListedObject[]> {
  const { bucket } = ops.backend;
  const objects: ListedObject[] = [];
  let token: string | undefined;
  do {
    const page: ListObjectsV2CommandOutput = await aws({ action: 's3:ListBucket', resource: s3Arn(bucket) },
      () => ops.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token })));
    objects.push(...(page.Contents ?? []).map((o) => ({ key: o.Key!, size: o.Size ?? 0, lastModified: o.LastModified, etag: o.ETag })));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

/** Reads the `.tflock` objects among `keys` (one that vanished meanwhile was released: skipped). */
export async function readLockFiles(ops: Ops, keys: readonly string[]): Promise<FoundLock[]> {
  const lockKeys = keys.filter((k) => k.endsWith(LOCK_FILE_SUFFIX));
  const locks = await mapLimit(lockKeys, 8, (key) => readLockFile(ops, key.slice(0, -LOCK_FILE_SUFFIX.length)));
  return locks.filter((l): l is FoundLock => l !== undefined);
}

/** Every `.tflock` object in the bucket, each read (one that vanished meanwhile was released: skipped). */
export async function listLockFiles(ops: Ops): Promise<FoundLock[]> {
  return readLockFiles(ops, (await listObjects(ops)).map((o) => o.key));
}

/** Where a backend keeps its locks: the lock table, the lock files, or both (as --json shows it). */
export function lockPlaces(backend: Backend): Array<{ kind: 'dynamodb'; table: string } | { kind: 'lockfile'; bucket: string }> {
  return [
    ...(backend.table ? [{ kind: 'dynamodb' as const, table: backend.table }] : []),
    ...(backend.useLockfile ? [{ kind: 'lockfile' as const, bucket: backend.bucket }] : []),
  ];
}

/** What a search for locks looked at, and what it did not, as a person reads it. */
export function describeLockPlaces(backend: Backend): string {
  const looked = lockPlaces(backend).map((p) => (p.kind === 'dynamodb' ? `the lock items of table ${p.table}` : `the lock files (*.tflock) of s3://${p.bucket}`));
  const notLooked = !backend.table
    ? '; not a lock table (the backend has none: no dynamodb_table)'
    : !backend.useLockfile ? '; not lock files (the backend does not use them: no use_lockfile)' : '';
  return `${looked.join(', ')}${notLooked}`;
}

/** Every lock in the backend, where the backend keeps them (its table, its lock files), by state path. */
export async function listLocks(ops: Ops): Promise<FoundLock[]> {
  const [items, files] = await Promise.all([scanLockItems(ops), ops.backend.useLockfile ? listLockFiles(ops) : []]);
  return [...items, ...files].sort((a, b) => (a.statePath < b.statePath ? -1 : a.statePath > b.statePath ? 1 : a.kind < b.kind ? -1 : 1));
}

/** The DynamoDB lock of one state (consistent GetItem), if any. */
export async function readLockItem(ops: Ops, statePath: string): Promise<FoundLock | undefined> {
  const { bucket, table, region } = ops.backend;
  if (!ops.dynamodb || !table) {
    return undefined;
  }
  const key = lockItemKey(bucket, statePath);
  const out = await aws({ action: 'dynamodb:GetItem', resource: tableResource(table, region) }, () => ops.dynamodb!.send(new GetItemCommand({
    TableName: table,
    Key: { LockID: { S: key } },
    ConsistentRead: true,
  })));
  const info = out.Item?.Info?.S;
  return info === undefined ? undefined : parseLock('dynamodb', statePath, key, info);
}

/** The lock file of one state, if any. */
export async function readLockFile(ops: Ops, statePath: string): Promise<FoundLock | undefined> {
  const key = `${statePath}${LOCK_FILE_SUFFIX}`;
  const obj = await getObject(ops.s3, ops.backend.bucket, key);
  if (!obj) {
    return undefined;
  }
  return parseLock('lockfile', statePath, key, obj.body.toString('utf8'), { etag: obj.etag, lastModified: obj.lastModified });
}

/** The locks of one state where the backend keeps them: the lock item (dynamodb_table), the lock file (use_lockfile). */
export async function readLocks(ops: Ops, statePath: string): Promise<FoundLock[]> {
  const [item, file] = await Promise.all([readLockItem(ops, statePath), ops.backend.useLockfile ? readLockFile(ops, statePath) : undefined]);
  return [item, file].filter((l): l is FoundLock => l !== undefined);
}

/** Where a lock is, as a person looks for it. */
export function describeLocation(ops: Ops, lock: FoundLock): string {
  return lock.kind === 'dynamodb'
    ? `item LockID=${JSON.stringify(lock.location)} in table ${ops.backend.table}`
    : `s3://${ops.backend.bucket}/${lock.location}`;
}

/** Terraform's "Lock Info" block, with the age. */
export function describeLock(ops: Ops, lock: FoundLock): string {
  const created = lockCreated(lock);
  const lines = [`  Lock:      ${describeLocation(ops, lock)}`];
  if (lock.info) {
    lines.push(
      `  ID:        ${lock.info.ID}`,
      `  Path:      ${lock.info.Path}`,
      `  Operation: ${lock.info.Operation} (${formatOperation(lock.info.Operation)})`,
      `  Who:       ${lock.info.Who}`,
      `  Version:   ${lock.info.Version}`,
      `  Created:   ${lock.info.Created}${created ? ` (${formatAge(ops.now().getTime() - created.getTime())} ago)` : ''}`,
    );
    if (lock.info.Info) {
      lines.push(`  Info:      ${lock.info.Info}`);
    }
  } else {
    lines.push(`  Content:   ${JSON.stringify(lock.raw.slice(0, 200))} (${lock.problem})`);
  }
  return lines.join('\n');
}

/** The outcome of removing one lock. */
export type Removal = 'removed' | 'already-gone';

/**
 * Removes the lock that was read, and only that lock: the DynamoDB delete is conditioned
 * on the exact Info read (`Info = :info`), the lock file's on its ETag (`If-Match`).
 * A lock changed since it was read is refused; one gone already is reported as such.
 */
export async function removeLock(ops: Ops, lock: FoundLock): Promise<Removal> {
  const { bucket, table, region } = ops.backend;
  let failed: unknown;
  try {
    if (lock.kind === 'dynamodb') {
      await ops.dynamodb!.send(new DeleteItemCommand({
        TableName: table,
        Key: { LockID: { S: lock.location } },
        ConditionExpression: 'Info = :info',
        ExpressionAttributeValues: { ':info': { S: lock.raw } },
      }));
    } else {
      await ops.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: lock.location, IfMatch: lock.etag }));
    }
    return 'removed';
  } catch (e) {
    if (!isConditionFailed(e) && !(lock.kind === 'lockfile' && isNoSuchKey(e))) {
      throw awsError(e, lock.kind === 'dynamodb'
        ? { action: 'dynamodb:DeleteItem', resource: tableResource(table!, region) }
        : { action: 's3:DeleteObject', resource: s3Arn(bucket, lock.location) });
    }
    failed = e;
  }
  // The condition failed: the lock is gone, or is another lock now.
  const now = lock.kind === 'dynamodb' ? await readLockItem(ops, lock.statePath) : await readLockFile(ops, lock.statePath);
  if (!now) {
    // A failure on the SDK's retry of this very delete (its first answer was lost) means
    // the first attempt removed the lock.
    return retried(failed) ? 'removed' : 'already-gone';
  }
  throw new CliError(`the lock on ${lock.statePath} changed after it was read, so it was not removed:\n${describeLock(ops, now)}`,
    ExitCode.REFUSED, { lock: lockJson(ops, now) });
}

/** True when the SDK sent the request more than once (it retried after an error or a lost answer). */
function retried(e: unknown): boolean {
  return ((e as { $metadata?: { attempts?: number } })?.$metadata?.attempts ?? 1) > 1;
}

/** A lock as --json shows it. */
export function lockJson(ops: Ops, lock: FoundLock): Record<string, unknown> {
  const created = lockCreated(lock);
  return {
    statePath: lock.statePath,
    kind: lock.kind,
    location: lock.kind === 'dynamodb' ? { table: ops.backend.table, lockId: lock.location } : { bucket: ops.backend.bucket, key: lock.location },
    id: lock.info?.ID ?? null,
    operation: lock.info?.Operation ?? null,
    who: lock.info?.Who ?? null,
    version: lock.info?.Version ?? null,
    created: lock.info?.Created ?? null,
    ageSeconds: created ? Math.floor((ops.now().getTime() - created.getTime()) / 1000) : null,
    info: lock.info?.Info ?? null,
    path: lock.info?.Path ?? null,
    ...(lock.problem ? { problem: lock.problem, raw: lock.raw } : {}),
  };
}

/** Locks this tool holds, to release. */
export interface HeldLocks {
  readonly statePath: string;
  readonly info: LockInfo;
  /** The exact Info string of the lock item, when one was taken. */
  readonly itemInfo?: string;
  /** The ETag of the lock file, when one was taken. */
  readonly fileEtag?: string;
}

/**
 * Takes the state's locks the way Terraform does: the lock file first (`use_lockfile`,
 * PutObject with If-None-Match: *), then the lock item (PutItem with
 * attribute_not_exists(LockID)). A lock held by someone else is refused (REFUSED), with
 * what was taken released. A condition that fails on this tool's own lock (an SDK retry
 * of a write whose answer was lost) counts as taken.
 */
export async function acquireLocks(ops: Ops, statePath: string, lockInfo: LockInfo): Promise<HeldLocks> {
  const { bucket, table, region, useLockfile } = ops.backend;
  // Terraform writes the same LockInfo, Path `<bucket>/<state path>`, in both kinds of lock.
  const info: LockInfo = { ...lockInfo, Path: lockItemKey(bucket, statePath) };
  const marshalled = marshalLockInfo(info);
  let fileEtag: string | undefined;
  if (useLockfile) {
    const key = `${statePath}${LOCK_FILE_SUFFIX}`;
    try {
      const out = await ops.s3.send(new PutObjectCommand({
        Bucket: bucket, Key: key, Body: marshalled, ContentType: 'application/json', IfNoneMatch: '*', ...encryptionParams(ops.backend),
      }));
      fileEtag = out.ETag;
    } catch (e) {
      if (!isConditionFailed(e)) {
        throw awsError(e, { action: 's3:PutObject', resource: s3Arn(bucket, key) });
      }
      const holder = await readLockFile(ops, statePath);
      if (holder?.info?.ID !== info.ID) {
        throw lockHeld(ops, statePath, holder);
      }
      fileEtag = holder.etag;
    }
  }
  let itemInfo: string | undefined;
  if (table && ops.dynamodb) {
    const lockId = info.Path;
    itemInfo = marshalled;
    try {
      await ops.dynamodb.send(new PutItemCommand({
        TableName: table,
        Item: { LockID: { S: lockId }, Info: { S: itemInfo } },
        ConditionExpression: 'attribute_not_exists(LockID)',
      }));
    } catch (e) {
      let failure: CliError;
      if (isConditionFailed(e)) {
        const holder = await readLockItem(ops, statePath).catch(() => undefined);
        if (holder?.info?.ID === info.ID) {
          return { statePath, info, itemInfo: holder.raw, fileEtag };
        }
        failure = lockHeld(ops, statePath, holder);
      } else {
        failure = awsError(e, { action: 'dynamodb:PutItem', resource: tableResource(table, region) });
      }
      if (fileEtag !== undefined) {
        const problems = await releaseLocks(ops, { statePath, info, fileEtag });
        if (problems.length > 0) {
          throw new CliError(`${failure.message}; and ${problems.join('; ')}`, failure.exitCode, failure.details);
        }
      }
      throw failure;
    }
  }
  return { statePath, info, itemInfo, fileEtag };
}

function lockHeld(ops: Ops, statePath: string, holder: FoundLock | undefined): CliError {
  const args = ['unlock', statePath, '--id', holder?.info?.ID ?? ''];
  const command = ops.suggest?.(args) ?? ['tfstate-ops', ...args].join(' ');
  const lines = [`the state ${statePath} is locked; nothing was changed${holder ? ':' : '.'}`];
  if (holder) {
    lines.push(describeLock(ops, holder));
  }
  lines.push(holder?.info?.ID ? `Wait until it is released; if it is stale, remove it with: ${command}` : 'Wait until it is released.');
  return new CliError(lines.join('\n'), ExitCode.REFUSED, holder ? { lock: lockJson(ops, holder) } : undefined);
}

/**
 * Releases what acquireLocks took, each removal conditioned on this tool's own lock.
 * Returns the problems (a lock that could not be released, or was replaced meanwhile).
 */
export async function releaseLocks(ops: Ops, held: HeldLocks): Promise<string[]> {
  const problems: string[] = [];
  const { bucket } = ops.backend;
  if (held.itemInfo !== undefined) {
    const lock: FoundLock = { kind: 'dynamodb', statePath: held.statePath, location: lockItemKey(bucket, held.statePath), raw: held.itemInfo, info: held.info };
    try {
      if (await removeLock(ops, lock) === 'already-gone') {
        problems.push(`this tool's lock item on ${held.statePath} (ID ${held.info.ID}) was removed by someone else while it held it`);
      }
    } catch (e) {
      problems.push(`the lock item on ${held.statePath} (ID ${held.info.ID}) was not released: ${(e as Error).message}`);
    }
  }
  if (held.fileEtag !== undefined) {
    const lock: FoundLock = {
      kind: 'lockfile', statePath: held.statePath, location: `${held.statePath}${LOCK_FILE_SUFFIX}`, raw: '', info: held.info, etag: held.fileEtag,
    };
    try {
      if (await removeLock(ops, lock) === 'already-gone') {
        problems.push(`this tool's lock file on ${held.statePath} (ID ${held.info.ID}) was removed by someone else while it held it`);
      }
    } catch (e) {
      problems.push(`the lock file on ${held.statePath} (ID ${held.info.ID}) was not released: ${(e as Error).message}`);
    }
  }
  return problems;
}
