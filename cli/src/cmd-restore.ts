import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { aws, awsError, isConditionFailed, isNoSuchKey, s3Arn, tableResource } from './aws';
import { CommandContext } from './context';
import { CliError, ExitCode } from './errors';
import { toJson } from './format';
import { diffHeading, diffJson, diffObjects, readStateVersion, side } from './cmd-diff';
import { newLockInfo } from './lock-info';
import { acquireLocks, digestItemKey, HeldLocks, releaseLocks } from './locks';
import { encryptionParams, getObject, md5Hex, StoredObject, summarizeState, withSerial } from './state';
import { renderDiff } from './state-diff';

export interface RestoreOptions {
  readonly key: string;
  readonly workspace?: string;
  readonly statePath: string;
  readonly versionId: string;
  readonly allowOtherLineage: boolean;
  readonly keepSerial: boolean;
  /** Only print what the restore would undo: the diff from the current version to V. */
  readonly dryRun?: boolean;
}

/** `restore <key> --version-id V`: makes version V current under Terraform's lock, with its digest. */
export async function restoreCommand(ctx: CommandContext, options: RestoreOptions): Promise<ExitCode> {
  const { ops } = ctx;
  const { backend } = ops;
  const { statePath, versionId } = options;
  if (options.dryRun) {
    return restoreDryRun(ctx, options);
  }
  const info = newLockInfo({
    Operation: 'tfstate-ops restore',
    Info: `restoring version ${versionId} of s3://${backend.bucket}/${statePath}`,
    Who: `${ctx.who} via tfstate-ops`,
    Version: ctx.toolVersion,
    Path: '',
  }, ops.now());

  const held = await acquireLocks(ops, statePath, info).catch((e: unknown) => {
    // A lock that could not be taken: nothing was written, and what was taken was released (or the message says not).
    if (e instanceof CliError && e.exitCode === ExitCode.FAILURE && !/was not released/.test(e.message)) {
      throw new CliError(`${e.message.replace(/[.;]?$/, '')}. Nothing was restored: the state and its digest were not touched, and no lock of this tool's remains.`, e.exitCode, e.details);
    }
    throw e;
  });
  let result: Record<string, unknown>;
  let failure: unknown;
  const progress: Progress = { stateWritten: false };
  try {
    result = await restoreLocked(ctx, options, held, progress);
  } catch (e) {
    failure = e;
  }
  const problems = await releaseLocks(ops, held);
  if (failure !== undefined) {
    if (problems.length > 0) {
      ctx.warn(problems.join('\n'));
    }
    // Say which of the two happened: nothing written, or written (and then, where it could be, undone).
    if (failure instanceof CliError && failure.exitCode === ExitCode.FAILURE && !progress.stateWritten && problems.length === 0) {
      throw new CliError(`${failure.message.replace(/[.;]?$/, '')}. Nothing was restored: the state and its digest are as they were, `
        + `and this tool's lock ${info.ID} was released.`, failure.exitCode, failure.details);
    }
    throw failure;
  }
  if (problems.length > 0) {
    throw new CliError(`the restore was done, but: ${problems.join('; ')}. `
      + `Check the locks with: ${ctx.suggest(['locks'])}`, ExitCode.FAILURE);
  }
  if (ctx.json) {
    ctx.out(toJson(result!));
  } else {
    const r = result! as Record<string, never>;
    if (r.unchanged) {
      ctx.out(`Version ${versionId} is already the current state of s3://${backend.bucket}/${statePath}; nothing was written.\n`);
    } else {
      ctx.out([
        `Restored s3://${backend.bucket}/${statePath} to version ${versionId}`,
        `  restored:  serial ${r.restoredSerial} (version ${versionId}), lineage ${r.lineage}`,
        `  replaced:  ${r.replacedVersionId ? `version ${r.replacedVersionId}, serial ${r.replacedSerial}, lineage ${r.replacedLineage}` : 'no current state'}`,
        `  written:   version ${r.newVersionId ?? '(unversioned)'}, serial ${r.serial}, ${r.size} bytes, MD5 ${r.md5}${r.encryption ? `, ${r.encryption}` : ''}`,
        `  digest:    ${r.digestItem ? `${r.digestItem} = ${r.md5}` : 'none (the backend has no lock table)'}`,
        `  lock:      ${info.ID} taken and released`,
        '',
      ].join('\n'));
    }
  }
  return ExitCode.OK;
}

/** What a failed restore had written, to say so. */
interface Progress {
  /** A new current version of the state was written (and not undone). */
  stateWritten: boolean;
}

async function restoreLocked(ctx: CommandContext, options: RestoreOptions, held: HeldLocks, progress: Progress): Promise<Record<string, unknown>> {
  const { ops } = ctx;
  const { backend } = ops;
  const { bucket } = backend;
  const { statePath, versionId } = options;
  const objectUrl = `s3://${bucket}/${statePath}`;

  const source = await getObject(ops.s3, bucket, statePath, versionId);
  if (!source) {
    throw new CliError(`version ${versionId} of ${objectUrl} not found. See the versions with: ${ctx.suggest(historyArgs(options))}`, ExitCode.NOT_FOUND);
  }
  const restored = summarizeState(source.body);
  if (restored.problem) {
    throw new CliError(`version ${versionId} of ${objectUrl} is not a Terraform state (${restored.problem}); nothing was written`, ExitCode.REFUSED);
  }
  const current = await getObject(ops.s3, bucket, statePath);
  const currentState = current ? summarizeState(current.body) : undefined;
  if (current && current.md5 === source.md5) {
    return { bucket, statePath, versionId, unchanged: true, lockId: held.info.ID };
  }
  if (currentState?.lineage !== undefined && currentState.lineage !== restored.lineage && !options.allowOtherLineage) {
    throw new CliError(`version ${versionId} has lineage ${restored.lineage}, the current state ${currentState.lineage}: `
      + 'they are the states of different configurations (or of a state created again); nothing was written. '
      + 'Pass --allow-other-lineage to restore it anyway.', ExitCode.REFUSED,
    { restoredLineage: restored.lineage, currentLineage: currentState.lineage });
  }
  // Within one lineage Terraform orders states by serial: the restored state comes after
  // the current one, so a plan saved against any earlier state is refused as stale.
  const currentSerial = currentState !== undefined && currentState.lineage === restored.lineage ? currentState.serial : undefined;
  const serial = options.keepSerial || currentSerial === undefined ? restored.serial! : Math.max(currentSerial, restored.serial!) + 1;
  const body = withSerial(source.body, serial);
  const md5 = md5Hex(body);

  // Conditioned on the version just read: a writer that ignores the lock (-lock=false) is not overwritten.
  const condition = current ? { IfMatch: current.etag } : { IfNoneMatch: '*' };
  let newVersionId: string | undefined;
  try {
    const put = await ops.s3.send(new PutObjectCommand({
      Bucket: bucket, Key: statePath, Body: body, ContentType: 'application/json', ...encryptionParams(backend), ...condition,
    }));
    newVersionId = put.VersionId;
  } catch (e) {
    if (!isConditionFailed(e) && !(current && isNoSuchKey(e))) {
      throw awsError(e, { action: 's3:PutObject', resource: s3Arn(bucket, statePath) });
    }
    // The SDK retries a write whose answer was lost; the retry's condition then meets the
    // write itself. The state holding exactly these bytes is that write.
    const now = await getObject(ops.s3, bucket, statePath).catch(() => undefined);
    if (now?.md5 !== md5) {
      throw new CliError(`${objectUrl} changed while this tool held its lock (someone writes without the lock?); nothing was written. `
        + `Look at the versions, then run the restore again: ${ctx.suggest(historyArgs(options))}`, ExitCode.REFUSED);
    }
    newVersionId = now.versionId;
  }
  progress.stateWritten = true;
  let digestItem: string | undefined;
  if (backend.table && ops.dynamodb) {
    digestItem = digestItemKey(bucket, statePath);
    try {
      await aws({ action: 'dynamodb:PutItem', resource: tableResource(backend.table, backend.region) }, () => ops.dynamodb!.send(new PutItemCommand({
        TableName: backend.table,
        Item: { LockID: { S: digestItem! }, Digest: { S: md5 } },
      })));
    } catch (e) {
      // A write whose every answer was lost may have been done: the digest read back tells.
      const written = await readDigestValue(ctx, digestItem).catch(() => undefined);
      if (written === md5) {
        return summary();
      }
      // The state is written and its digest is not: Terraform would refuse the state. Put the
      // replaced state back (its bytes, as a new version, conditioned on the version just
      // written; deleting a version is not this tool's to do), so the digest matches again.
      const undone = await undoStateWrite(ctx, statePath, current, md5).catch((u: Error) => u);
      if (!(undone instanceof Error)) {
        progress.stateWritten = false;
        throw new CliError(`the digest of ${objectUrl} could not be written (${(e as Error).message}), so the restore was undone: `
          + `${undone}`, ExitCode.FAILURE);
      }
      throw new CliError(`${objectUrl} was restored (new version ${newVersionId}), but its digest was not written, so Terraform will refuse it `
        + `until it is: ${(e as Error).message}\nUndoing the restore failed too (${undone.message}).\n`
        + `Fix it with: ${ctx.suggest(['digest', ...keyArgs(options), '--fix'])}`, ExitCode.FAILURE);
    }
  }
  return summary();

  function summary(): Record<string, unknown> {
    const enc = encryptionParams(backend);
    return {
      bucket,
      statePath,
      versionId,
      unchanged: false,
      lineage: restored.lineage,
      restoredSerial: restored.serial,
      serial,
      replacedVersionId: current?.versionId ?? null,
      replacedSerial: currentState?.serial ?? null,
      replacedLineage: currentState?.lineage ?? null,
      newVersionId: newVersionId ?? null,
      size: body.length,
      md5,
      encryption: enc.ServerSideEncryption ? `${enc.ServerSideEncryption}${enc.SSEKMSKeyId ? ` (${enc.SSEKMSKeyId})` : ''}` : null,
      digestItem: digestItem ?? null,
      lockId: held.info.ID,
    };
  }
}

/** The Digest of a digest item (consistent read), if any. */
async function readDigestValue(ctx: CommandContext, lockId: string): Promise<string | undefined> {
  const { backend, dynamodb } = ctx.ops;
  const out = await dynamodb!.send(new GetItemCommand({ TableName: backend.table, Key: { LockID: { S: lockId } }, ConsistentRead: true }));
  return out.Item?.Digest?.S;
}

/**
 * Writes the replaced state's bytes back as the current version (or deletes the object when
 * there was none), conditioned on the version this tool wrote; says what it did.
 */
async function undoStateWrite(ctx: CommandContext, statePath: string, replaced: StoredObject | undefined, writtenMd5: string): Promise<string> {
  const { ops } = ctx;
  const { backend } = ops;
  const { bucket } = backend;
  const now = await getObject(ops.s3, bucket, statePath);
  if (now?.md5 !== writtenMd5) {
    throw new CliError(`s3://${bucket}/${statePath} is no longer the version this tool wrote`, ExitCode.REFUSED);
  }
  if (!replaced) {
    await aws({ action: 's3:DeleteObject', resource: s3Arn(bucket, statePath) },
      () => ops.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: statePath, IfMatch: now.etag })));
    return 'the state object is deleted again (there was none before), and there is no digest, as before.';
  }
  const put = await aws({ action: 's3:PutObject', resource: s3Arn(bucket, statePath) }, () => ops.s3.send(new PutObjectCommand({
    Bucket: bucket, Key: statePath, Body: replaced.body, ContentType: 'application/json', ...encryptionParams(backend), IfMatch: now.etag,
  })));
  return `the state's bytes are those of version ${replaced.versionId ?? '(unversioned)'} again (written as version ${put.VersionId ?? '(unversioned)'}), `
    + 'and its digest is as it was.';
}

/**
 * `restore --dry-run`: the diff from the current version to version V, which is what the
 * restore would change. Reads both (GetObject); takes no lock and writes nothing.
 */
async function restoreDryRun(ctx: CommandContext, options: RestoreOptions): Promise<ExitCode> {
  const { bucket } = ctx.ops.backend;
  const [current, source] = await Promise.all([readStateVersion(ctx, options), readStateVersion(ctx, options, options.versionId)]);
  const diff = diffObjects(options.statePath, current, source, false);
  const from = side(current, true);
  const to = side(source, current.versionId === source.versionId);
  const nothing = 'Dry run: nothing was written and no lock was taken.';
  if (ctx.json) {
    ctx.out(toJson({ dryRun: true, written: false, lockTaken: false, ...diffJson(bucket, options.statePath, from, to, diff) }));
  } else {
    const lineage = from.lineage !== to.lineage
      ? `\nThe lineages differ: restore refuses this version unless --allow-other-lineage.` : '';
    ctx.out(`Restoring version ${options.versionId} would change the current state as follows.\n\n`
      + diffHeading(bucket, options.statePath, from, to) + renderDiff(diff) + `\n${nothing}${lineage}\n`);
  }
  return ExitCode.OK;
}

function keyArgs(options: { key: string; workspace?: string }): string[] {
  return [options.key, ...(options.workspace ? ['--workspace', options.workspace] : [])];
}

function historyArgs(options: { key: string; workspace?: string }): string[] {
  return ['history', ...keyArgs(options)];
}
