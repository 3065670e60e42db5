import { CommandContext } from './context';
import { CliError, ExitCode } from './errors';
import { toJson } from './format';
import { describeLocation, describeLock, FoundLock, LOCK_FILE_SUFFIX, lockItemKey, lockJson, readLocks, removeLock } from './locks';

/**
 * `unlock <state path> --id ID`: removes that lock only if it is still the one with that ID.
 * The argument may be Terraform's lock `Path` (`<bucket>/<state path>`, as "Error acquiring
 * the state lock" prints it): the backend's bucket name is dropped. A state key may itself
 * start with the bucket's name, so the argument as it is is tried next; only a lock with
 * the given ID is ever removed, so trying both is safe.
 */
export async function unlockCommand(ctx: CommandContext, given: string, id: string): Promise<ExitCode> {
  const { ops } = ctx;
  const { bucket, table, useLockfile } = ops.backend;
  const withoutBucket = given.startsWith(`${bucket}/`) && given.length > bucket.length + 1 ? given.slice(bucket.length + 1) : undefined;
  const candidates = withoutBucket !== undefined ? [withoutBucket, given] : [given];
  let statePath: string | undefined;
  let locks: FoundLock[] = [];
  for (const candidate of candidates) {
    locks = await readLocks(ops, candidate);
    if (locks.length > 0) {
      statePath = candidate;
      break;
    }
  }
  if (statePath === undefined) {
    const places = [
      table ? `no item LockID=${candidates.map((c) => JSON.stringify(lockItemKey(bucket, c))).join(' or ')} in table ${table}` : undefined,
      useLockfile ? `no ${candidates.map((c) => `s3://${bucket}/${c}${LOCK_FILE_SUFFIX}`).join(' or ')}` : undefined,
    ].filter(Boolean).join(', ');
    const what = withoutBucket !== undefined
      ? `${withoutBucket} (Terraform's lock Path ${given} without "${bucket}/") nor on ${given}`
      : given;
    if (withoutBucket === undefined) {
      ctx.note(`state s3://${bucket}/${given} (the argument)`);
    }
    throw new CliError(`no lock on ${what}: ${places}. See the locks with: ${ctx.suggest(['locks'])}`, ExitCode.NOT_FOUND);
  }
  ctx.note(`state s3://${bucket}/${statePath} (${statePath === given ? 'the argument' : `the argument without "${bucket}/": Terraform's lock Path is <bucket>/<state path>`})`);
  const others = locks.filter((l) => l.info?.ID !== id);
  if (others.length > 0) {
    throw new CliError(`lock ID ${id} does not match the lock on ${statePath}; nothing was removed:\n${others.map((l) => describeLock(ops, l)).join('\n\n')}`,
      ExitCode.REFUSED, { locks: others.map((l) => lockJson(ops, l)) });
  }
  // Release in the reverse of Terraform's order of taking: the item, then the file.
  const ordered = [...locks].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'dynamodb' ? -1 : 1));
  const results: Array<{ lock: FoundLock; outcome: string }> = [];
  for (const lock of ordered) {
    try {
      results.push({ lock, outcome: await removeLock(ops, lock) });
    } catch (e) {
      if (!(e instanceof CliError) || e.exitCode !== ExitCode.FAILURE) throw e;
      // Say what is left: nothing removed, or the lock item removed and the lock file not.
      const done = results.map((r) => describeLocation(ops, r.lock));
      throw new CliError(`${e.message.replace(/[.;]?$/, '')}. ${done.length === 0
        ? `Nothing was removed: the lock ${id} on ${statePath} is as it was.`
        : `Removed ${done.join(', ')}; ${describeLocation(ops, lock)} was not, so Terraform still sees the state locked. `
          + `Run the same command again to remove the rest: ${ctx.suggest(['unlock', statePath, '--id', id])}`}`, e.exitCode, e.details);
    }
  }
  if (ctx.json) {
    ctx.out(toJson({ statePath, id, removed: results.map((r) => ({ ...lockJson(ops, r.lock), outcome: r.outcome })) }));
    return ExitCode.OK;
  }
  const info = locks[0].info!;
  ctx.out(`Removed lock ${id} on ${statePath} (${info.Operation} by ${info.Who}, Terraform ${info.Version}, created ${info.Created}):\n`);
  for (const r of results) {
    ctx.out(`  ${describeLocation(ops, r.lock)}${r.outcome === 'already-gone' ? ' (already gone when it was deleted)' : ''}\n`);
  }
  return ExitCode.OK;
}
