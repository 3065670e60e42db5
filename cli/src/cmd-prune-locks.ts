import {
  DeleteObjectsCommand,
  DeleteObjectsCommandOutput,
  ListObjectVersionsCommand,
  ListObjectVersionsCommandOutput,
} from '@aws-sdk/client-s3';
import { aws, awsError, s3Arn } from './aws';
import { CommandContext } from './context';
import { CliError, ExitCode } from './errors';
import { formatAge, toJson } from './format';
import { LOCK_FILE_SUFFIX } from './locks';

/** S3's limit of keys per DeleteObjects request. */
export const DELETE_BATCH = 1000;

export interface PruneLocksOptions {
  /** Only versions that have been noncurrent (delete markers: released) at least this long. */
  readonly olderThanMs?: number;
  /** Only keys under this prefix (default: the whole bucket). */
  readonly prefix: string;
  /** Act; without it, only say what would be removed. */
  readonly delete: boolean;
}

/** One version or delete marker of a lock file, as listed. */
interface Entry {
  readonly key: string;
  readonly versionId: string;
  readonly marker: boolean;
  readonly latest: boolean;
  readonly size: number;
  readonly lastModified?: Date;
  /** When it stopped being current: the newer entry's LastModified (the marker that is current: its own). */
  readonly noncurrentSince?: Date;
}

interface Listing {
  /** Object versions and delete markers listed, of every key under the prefix. */
  readonly listed: number;
  /** Of those, the keys that are not lock files. */
  readonly otherKeys: number;
  /** Every entry of every `.tflock` key, newest first per key. */
  readonly lockFiles: Map<string, Entry[]>;
}

/** Every version and delete marker under `prefix`, the `.tflock` keys' kept (S3 lists each key's versions newest first). */
async function listLockFileVersions(ctx: CommandContext, prefix: string): Promise<Listing> {
  const { ops } = ctx;
  const { bucket } = ops.backend;
  const lockFiles = new Map<string, Entry[]>();
  const others = new Set<string>();
  let listed = 0;
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  do {
    const page: ListObjectVersionsCommandOutput = await aws({ action: 's3:ListBucketVersions', resource: s3Arn(bucket) },
      () => ops.s3.send(new ListObjectVersionsCommand({
        Bucket: bucket, Prefix: prefix || undefined, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker,
      })));
    // Versions and markers come in two lists; S3's order (key, then newest first) is restored from LastModified.
    const entries = [
      ...(page.Versions ?? []).map((v) => ({
        key: v.Key!, versionId: v.VersionId ?? 'null', marker: false, latest: v.IsLatest === true, size: v.Size ?? 0, lastModified: v.LastModified,
      })),
      ...(page.DeleteMarkers ?? []).map((m) => ({
        key: m.Key!, versionId: m.VersionId ?? 'null', marker: true, latest: m.IsLatest === true, size: 0, lastModified: m.LastModified,
      })),
    ];
    listed += entries.length;
    for (const e of entries) {
      if (!e.key.endsWith(LOCK_FILE_SUFFIX)) {
        others.add(e.key);
        continue;
      }
      lockFiles.set(e.key, [...(lockFiles.get(e.key) ?? []), e]);
    }
    keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    versionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
  } while (keyMarker !== undefined);
  for (const [key, entries] of lockFiles) {
    const time = (e: Entry) => e.lastModified?.getTime() ?? 0;
    const sorted = [...entries].sort((a, b) => (a.latest !== b.latest ? (a.latest ? -1 : 1) : time(b) - time(a)));
    lockFiles.set(key, sorted.map((e, i) => ({
      ...e, noncurrentSince: i === 0 ? (e.marker ? e.lastModified : undefined) : sorted[i - 1].lastModified,
    })));
  }
  return { listed, otherKeys: others.size, lockFiles };
}

interface Plan {
  /** Noncurrent versions and noncurrent delete markers: removing them never changes what is current. */
  readonly noncurrent: Entry[];
  /** Current delete markers of keys whose every other entry is in `noncurrent`: removed after them, so no old lock version ever becomes current. */
  readonly currentMarkers: Entry[];
  /** Current lock files (a lock held, or one left behind): never touched. */
  readonly currentLocks: Entry[];
  /** Entries newer than --older-than. */
  readonly tooRecent: number;
}

function planOf(listing: Listing, options: PruneLocksOptions, now: Date): Plan {
  const old = (e: Entry) => options.olderThanMs === undefined
    || (e.noncurrentSince !== undefined && now.getTime() - e.noncurrentSince.getTime() >= options.olderThanMs);
  const noncurrent: Entry[] = [];
  const currentMarkers: Entry[] = [];
  const currentLocks: Entry[] = [];
  let tooRecent = 0;
  for (const entries of listing.lockFiles.values()) {
    const rest = entries.filter((e) => !e.latest);
    const pruned = rest.filter(old);
    tooRecent += rest.length - pruned.length;
    noncurrent.push(...pruned);
    const latest = entries.find((e) => e.latest);
    if (latest && !latest.marker) {
      currentLocks.push(latest);
    } else if (latest) {
      // The current marker goes only with every older entry of its key.
      if (pruned.length === rest.length && old(latest)) currentMarkers.push(latest); else tooRecent++;
    }
  }
  return { noncurrent, currentMarkers, currentLocks, tooRecent };
}

interface Outcome {
  readonly removed: Entry[];
  readonly errors: Array<{ key: string; versionId: string; code: string; message: string }>;
}

/** DeleteObjects by version ID, at most DELETE_BATCH a request; each key's refusal is kept. */
async function deleteVersions(ctx: CommandContext, entries: readonly Entry[]): Promise<Outcome> {
  const { ops } = ctx;
  const { bucket } = ops.backend;
  const removed: Entry[] = [];
  const errors: Outcome['errors'] = [];
  for (let i = 0; i < entries.length; i += DELETE_BATCH) {
    const batch = entries.slice(i, i + DELETE_BATCH);
    let out: DeleteObjectsCommandOutput;
    try {
      out = await ops.s3.send(new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: batch.map((e) => ({ Key: e.key, VersionId: e.versionId })), Quiet: false },
      }));
    } catch (e) {
      throw Object.assign(awsError(e, { action: 's3:DeleteObjectVersion', resource: s3Arn(bucket, '*.tflock') }), { partial: { removed, errors } });
    }
    const byId = new Map(batch.map((e) => [`${e.key}\0${e.versionId}`, e]));
    for (const d of out.Deleted ?? []) {
      const e = byId.get(`${d.Key}\0${d.VersionId ?? 'null'}`);
      if (e) removed.push(e);
    }
    for (const err of out.Errors ?? []) {
      errors.push({ key: err.Key ?? '?', versionId: err.VersionId ?? '?', code: err.Code ?? 'Error', message: err.Message ?? '' });
    }
  }
  return { removed, errors };
}

const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const bytes = (entries: readonly Entry[]) => entries.reduce((s, e) => s + e.size, 0);

/**
 * `prune-locks [--older-than D] [--prefix P] [--delete]`: the noncurrent versions and the
 * delete markers of `*.tflock` objects, listed (default) or deleted by version ID. A
 * current lock file's current version, and every key not ending `.tflock`, are never
 * deleted; a current delete marker is deleted only after every older version of its key,
 * so no old lock version ever becomes current again.
 */
export async function pruneLocksCommand(ctx: CommandContext, options: PruneLocksOptions): Promise<ExitCode> {
  const { ops } = ctx;
  const { bucket, useLockfile } = ops.backend;
  const where = `s3://${bucket}/${options.prefix}`;
  const listing = await listLockFileVersions(ctx, options.prefix);
  const plan = planOf(listing, options, ops.now());
  const versions = plan.noncurrent.filter((e) => !e.marker);
  const markers = [...plan.noncurrent.filter((e) => e.marker), ...plan.currentMarkers];
  const looked = `looked at ${count(listing.listed, 'object version')} and delete markers under ${where}${options.prefix ? '' : ' (the whole bucket)'}: `
    + `${count(listing.lockFiles.size, 'lock file')} (*.tflock), ${count(listing.otherKeys, 'other key')} (never touched)`
    + `${useLockfile ? '' : '; the backend does not use lock files (no use_lockfile): these are left from before, or from another configuration'}`;
  ctx.note(looked);

  let outcome: Outcome | undefined;
  let failure: CliError | undefined;
  if (options.delete) {
    try {
      const first = await deleteVersions(ctx, plan.noncurrent);
      // A current marker goes only when every older entry of its key went.
      const failedKeys = new Set(first.errors.map((e) => e.key));
      const second = await deleteVersions(ctx, plan.currentMarkers.filter((m) => !failedKeys.has(m.key)));
      outcome = { removed: [...first.removed, ...second.removed], errors: [...first.errors, ...second.errors] };
    } catch (e) {
      failure = e as CliError;
      outcome = (e as { partial?: Outcome }).partial ?? { removed: [], errors: [] };
    }
  }
  const removed = outcome?.removed ?? [];
  const summary = {
    bucket,
    prefix: options.prefix,
    dryRun: !options.delete,
    olderThanSeconds: options.olderThanMs === undefined ? null : Math.floor(options.olderThanMs / 1000),
    listed: listing.listed,
    lockFiles: listing.lockFiles.size,
    otherKeys: listing.otherKeys,
    candidates: { versions: versions.length, deleteMarkers: markers.length, bytes: bytes(versions) },
    removed: { versions: removed.filter((e) => !e.marker).length, deleteMarkers: removed.filter((e) => e.marker).length, bytes: bytes(removed) },
    kept: { currentLocks: plan.currentLocks.map((e) => ({ key: e.key, versionId: e.versionId })), tooRecent: plan.tooRecent },
    errors: outcome?.errors ?? [],
    ...(failure ? { failed: failure.message } : {}),
  };
  if (ctx.json) {
    ctx.out(toJson(summary));
  } else {
    const age = options.olderThanMs === undefined ? '' : ` noncurrent for at least ${formatAge(options.olderThanMs)}`;
    const lines: string[] = [];
    if (!options.delete) {
      lines.push(`Would remove${age}: ${count(versions.length, 'lock-file version')} (${bytes(versions)} bytes) and ${count(markers.length, 'delete marker')}`
        + ` of ${count(listing.lockFiles.size, 'lock file')} in ${where}.`, `Nothing was deleted (dry run). To delete them: ${ctx.suggest(['prune-locks', ...argsOf(options), '--delete'])}`);
    } else {
      lines.push(`Removed${age}: ${summary.removed.versions} of ${count(versions.length, 'lock-file version')} (${summary.removed.bytes} bytes) and `
        + `${summary.removed.deleteMarkers} of ${count(markers.length, 'delete marker')} of ${count(listing.lockFiles.size, 'lock file')} in ${where}.`);
    }
    if (plan.currentLocks.length > 0) {
      lines.push(`Kept ${count(plan.currentLocks.length, 'current lock file')} (a lock held, or left behind: see \`locks\`): ${plan.currentLocks.map((e) => e.key).join(', ')}`);
    }
    if (plan.tooRecent > 0) {
      lines.push(`Kept ${count(plan.tooRecent, 'version or delete marker', 'versions and delete markers')} newer than --older-than.`);
    }
    for (const e of summary.errors) {
      lines.push(`  not removed: ${e.key} version ${e.versionId}: ${e.code}${e.message ? ` (${e.message})` : ''}`);
    }
    ctx.out(lines.join('\n') + '\n');
  }
  if (failure) {
    const again = `Run it again to finish: ${ctx.suggest(['prune-locks', ...argsOf(options), '--delete'])}`;
    throw new CliError(`${failure.message.replace(/[.;]?$/, '')}. ${removed.length === 0
      ? 'Nothing was removed: the lock files\' versions are as they were.'
      : `${removed.length} removed before it, all old lock-file versions or delete markers; no current lock file and nothing but *.tflock was touched.`} `
      + again, failure.exitCode, { removed: summary.removed });
  }
  if (summary.errors.length > 0) {
    const denied = summary.errors.some((e) => e.code === 'AccessDenied');
    throw new CliError(`${count(summary.errors.length, 'version or delete marker', 'versions and delete markers')} not removed (listed above; `
      + `the current delete marker of a key with one of them stays)${denied
        ? '. AccessDenied: the caller needs s3:DeleteObjectVersion on the lock files, and the bucket policy must allow it'
        + ' (the construct\'s DenyStateHistoryDeletion spares *.tflock; a bucket deployed with an older version denies it'
        + ' to all but stateHistoryAdmins until its stack is updated)' : ''}`,
    ExitCode.FAILURE);
  }
  return ExitCode.OK;
}

function argsOf(options: PruneLocksOptions): string[] {
  return [
    ...(options.olderThanMs !== undefined ? ['--older-than', formatAge(options.olderThanMs).replace(/ /g, '')] : []),
    ...(options.prefix ? ['--prefix', options.prefix] : []),
  ];
}
