import { DeleteItemCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { aws, awsError, isConditionFailed, tableResource } from './aws';
import { CommandContext } from './context';
import { CliError, ExitCode } from './errors';
import { formatTime, toJson } from './format';
import { newLockInfo } from './lock-info';
import { acquireLocks, digestItemKey, Ops, releaseLocks } from './locks';
import { getObject, StoredObject, summarizeState } from './state';
import { listVersions, readVersions, ReadVersion } from './versions';

export interface DigestOptions {
  readonly key: string;
  readonly workspace?: string;
  readonly statePath: string;
  readonly fix: boolean;
}

/** The digest item as stored; `md5` only when it holds one (Terraform ignores anything else). */
interface DigestItem {
  readonly lockId: string;
  readonly raw?: string;
  readonly md5?: string;
}

export type DigestStatus = 'match' | 'mismatch' | 'no-digest' | 'no-state' | 'none';

/** The MD5 a stored Digest holds, as Terraform reads it (32 hex digits), or undefined (Terraform ignores anything else). */
export function digestMd5(raw: string | undefined): string | undefined {
  return raw !== undefined && /^[0-9a-fA-F]{32}$/.test(raw) ? raw.toLowerCase() : undefined;
}

/** The state object's MD5 (undefined: no state) against the digest's (undefined: no usable digest). */
export function compareDigest(stateMd5: string | undefined, digest: string | undefined): DigestStatus {
  if (stateMd5 !== undefined) {
    return digest === undefined ? 'no-digest' : digest === stateMd5 ? 'match' : 'mismatch';
  }
  return digest === undefined ? 'none' : 'no-state';
}

/** How many of the newest versions are searched for the one a digest belongs to. */
const SEARCH_VERSIONS = 20;

async function readDigest(ops: Ops, statePath: string): Promise<DigestItem> {
  const { bucket, table, region } = ops.backend;
  const lockId = digestItemKey(bucket, statePath);
  const out = await aws({ action: 'dynamodb:GetItem', resource: tableResource(table!, region) }, () => ops.dynamodb!.send(new GetItemCommand({
    TableName: table,
    Key: { LockID: { S: lockId } },
    ConsistentRead: true,
  })));
  const raw = out.Item?.Digest?.S;
  return { lockId, raw, md5: digestMd5(raw) };
}

/** Terraform reads an empty object as no state. */
async function readState(ops: Ops, statePath: string): Promise<StoredObject | undefined> {
  const obj = await getObject(ops.s3, ops.backend.bucket, statePath);
  return obj && obj.body.length > 0 ? obj : undefined;
}

function statusOf(state: StoredObject | undefined, digest: DigestItem): DigestStatus {
  return compareDigest(state?.md5, digest.md5);
}

/** `digest <key> [--fix]`: the digest item against the state object's MD5. */
export async function digestCommand(ctx: CommandContext, options: DigestOptions): Promise<ExitCode> {
  const { ops } = ctx;
  const { backend } = ops;
  const { statePath } = options;
  const url = `s3://${backend.bucket}/${statePath}`;
  const [state, digest] = await Promise.all([readState(ops, statePath), readDigest(ops, statePath)]);
  const status = statusOf(state, digest);
  if (status === 'none') {
    throw new CliError(`no state at ${url} and no digest item ${JSON.stringify(digest.lockId)} in table ${backend.table}`, ExitCode.NOT_FOUND);
  }
  let digestVersion: ReadVersion | undefined;
  if (status === 'mismatch' || status === 'no-state') {
    const { versions } = await listVersions(ops.s3, backend.bucket, statePath, SEARCH_VERSIONS);
    const read = await readVersions(ops.s3, backend.bucket, statePath, versions);
    digestVersion = read.find((v) => v.md5 === digest.md5);
  }
  const stateSummary = state ? summarizeState(state.body) : undefined;
  let fixed: FixResult | undefined;
  if (options.fix && (status === 'mismatch' || status === 'no-state')) {
    fixed = await fixDigest(ctx, options);
  }

  if (ctx.json) {
    ctx.out(toJson({
      bucket: backend.bucket,
      table: backend.table,
      statePath,
      status,
      state: state ? {
        md5: state.md5, versionId: state.versionId ?? null, lastModified: state.lastModified?.toISOString() ?? null, size: state.body.length,
        serial: stateSummary?.serial ?? null, lineage: stateSummary?.lineage ?? null,
      } : null,
      digest: { lockId: digest.lockId, value: digest.raw ?? null, md5: digest.md5 ?? null },
      digestVersion: digestVersion ? {
        versionId: digestVersion.versionId,
        lastModified: digestVersion.lastModified?.toISOString() ?? null,
        serial: digestVersion.state?.serial ?? null,
      } : null,
      fixed: fixed ?? null,
    }));
  } else {
    const lines = [
      url,
      `  state object  ${state
        ? `MD5 ${state.md5}  version ${state.versionId ?? '-'}, ${formatTime(state.lastModified)}, serial ${stateSummary?.serial ?? '?'}, ${state.body.length} bytes`
        : '(none: no current object)'}`,
      `  digest item   ${digest.md5 ? `MD5 ${digest.md5}` : digest.raw !== undefined ? `${JSON.stringify(digest.raw)} (not an MD5: Terraform ignores it)` : '(none)'}  `
      + `LockID ${JSON.stringify(digest.lockId)} in table ${backend.table}`,
    ];
    const keyArgs = [options.key, ...(options.workspace ? ['--workspace', options.workspace] : [])];
    switch (status) {
      case 'match':
        lines.push('', 'The digest matches the state object: Terraform reads this state.');
        break;
      case 'no-digest':
        lines.push('', 'No digest: Terraform reads this state without checking it, and writes the digest with its next state write.');
        break;
      case 'mismatch':
      case 'no-state': {
        lines.push('', status === 'mismatch'
          ? 'MISMATCH: Terraform refuses this state ("state data in S3 does not have the expected content").'
          : 'The digest names a state, but there is no state object: Terraform refuses to read it.');
        if (digestVersion) {
          lines.push(`The digest is the MD5 of version ${digestVersion.versionId} (${formatTime(digestVersion.lastModified)}, serial ${digestVersion.state?.serial ?? '?'}), `
            + `the last state written with its digest; the current object ${state ? 'was written after it without one' : 'was deleted after it'}.`);
        } else {
          lines.push(`The digest matches none of the newest ${SEARCH_VERSIONS} versions of the state.`);
        }
        if (fixed) {
          lines.push('', fixed.action === 'deleted'
            ? `Fixed: deleted the digest item (there is no state object), under lock ${fixed.lockId}.`
            : `Fixed: the digest is now ${fixed.md5} (the state object's MD5), written under lock ${fixed.lockId}.`);
        } else {
          lines.push('', `If the current object is the state you want: ${ctx.suggest(['digest', ...keyArgs, '--fix'])}`);
          if (digestVersion) {
            lines.push(`If the version the digest names is the one you want: ${ctx.suggest(['restore', ...keyArgs, '--version-id', digestVersion.versionId])}`);
          }
        }
        break;
      }
    }
    if (options.fix && !fixed) {
      lines.push('Nothing to fix.');
    }
    ctx.out(lines.join('\n') + '\n');
  }
  if (fixed || status === 'match' || status === 'no-digest') {
    return ExitCode.OK;
  }
  return ExitCode.MISMATCH;
}

interface FixResult {
  readonly action: 'written' | 'deleted';
  readonly md5?: string;
  readonly lockId: string;
}

/** Under the state's lock: the digest from the state object as it is then (or no digest when there is no object). */
async function fixDigest(ctx: CommandContext, options: DigestOptions): Promise<FixResult> {
  const { ops } = ctx;
  const { backend } = ops;
  const { statePath } = options;
  const info = newLockInfo({
    Operation: 'tfstate-ops digest --fix',
    Info: `rewriting the digest of s3://${backend.bucket}/${statePath}`,
    Who: `${ctx.who} via tfstate-ops`,
    Version: ctx.toolVersion,
    Path: '',
  }, ops.now());
  const held = await acquireLocks(ops, statePath, info).catch((e: unknown) => {
    // A lock that could not be taken: nothing was written, and what was taken was released (or the message says not).
    if (e instanceof CliError && e.exitCode === ExitCode.FAILURE && !/was not released/.test(e.message)) {
      throw new CliError(`${e.message.replace(/[.;]?$/, '')}. Nothing was changed: the digest was not touched, and no lock of this tool's remains.`, e.exitCode, e.details);
    }
    throw e;
  });
  let result: FixResult | undefined;
  let failure: unknown;
  try {
    const [state, digest] = await Promise.all([readState(ops, statePath), readDigest(ops, statePath)]);
    // Conditioned on the digest read under the lock: a digest written meanwhile by a
    // writer that ignores the lock is not overwritten.
    const condition = digest.raw === undefined
      ? { ConditionExpression: 'attribute_not_exists(LockID)' }
      : { ConditionExpression: 'Digest = :old', ExpressionAttributeValues: { ':old': { S: digest.raw } } };
    const call = { action: state ? 'dynamodb:PutItem' : 'dynamodb:DeleteItem', resource: tableResource(backend.table!, backend.region) };
    try {
      if (state) {
        await ops.dynamodb!.send(new PutItemCommand({
          TableName: backend.table, Item: { LockID: { S: digest.lockId }, Digest: { S: state.md5 } }, ...condition,
        }));
        result = { action: 'written', md5: state.md5, lockId: info.ID };
      } else if (digest.raw !== undefined) {
        await ops.dynamodb!.send(new DeleteItemCommand({ TableName: backend.table, Key: { LockID: { S: digest.lockId } }, ...condition }));
        result = { action: 'deleted', lockId: info.ID };
      } else {
        result = { action: 'deleted', lockId: info.ID };
      }
    } catch (e) {
      if (!isConditionFailed(e)) {
        throw awsError(e, call);
      }
      // The SDK retries a write whose answer was lost; the retry's condition then meets the
      // write itself. A digest that is now what this tool wrote (or gone, when it deleted
      // it) is that write.
      const now = await readDigest(ops, statePath);
      if (now.raw !== (state ? state.md5 : undefined)) {
        throw new CliError(`the digest of ${statePath} changed while this tool held the lock (someone writes without the lock?); `
          + `it was not rewritten. Check again: ${ctx.suggest(['digest', options.key, ...(options.workspace ? ['--workspace', options.workspace] : [])])}`,
        ExitCode.REFUSED);
      }
      result = state ? { action: 'written', md5: state.md5, lockId: info.ID } : { action: 'deleted', lockId: info.ID };
    }
  } catch (e) {
    failure = e;
  }
  const problems = await releaseLocks(ops, held);
  if (failure !== undefined) {
    if (problems.length > 0) ctx.warn(problems.join('\n'));
    if (failure instanceof CliError && failure.exitCode === ExitCode.FAILURE && problems.length === 0) {
      throw new CliError(`${failure.message.replace(/[.;]?$/, '')}. Nothing was changed: the digest is as it was, and this tool's lock ${info.ID} `
        + 'was released.', failure.exitCode, failure.details);
    }
    throw failure;
  }
  if (problems.length > 0) {
    throw new CliError(`the digest was rewritten, but: ${problems.join('; ')}`, ExitCode.FAILURE);
  }
  return result!;
}
