import { CommandContext } from './context';
import { CliError, ExitCode } from './errors';
import { toJson } from './format';
import { describeLocation, describeLock, lockJson, readLocks, removeLock } from './locks';

/** `unlock <state path> --id ID`: removes that lock only if it is still the one with that ID. */
export async function unlockCommand(ctx: CommandContext, statePath: string, id: string): Promise<ExitCode> {
  const { ops } = ctx;
  const locks = await readLocks(ops, statePath);
  if (locks.length === 0) {
    const places = [
      ops.backend.table ? `no item LockID=${JSON.stringify(`${ops.backend.bucket}/${statePath}`)} in table ${ops.backend.table}` : undefined,
      `no s3://${ops.backend.bucket}/${statePath}.tflock`,
    ].filter(Boolean).join(', ');
    throw new CliError(`no lock on ${statePath}: ${places}. See the locks with: ${ctx.suggest(['locks'])}`, ExitCode.NOT_FOUND);
  }
  const others = locks.filter((l) => l.info?.ID !== id);
  if (others.length > 0) {
    throw new CliError(`lock ID ${id} does not match the lock on ${statePath}; nothing was removed:\n${others.map((l) => describeLock(ops, l)).join('\n\n')}`,
      ExitCode.REFUSED, { locks: others.map((l) => lockJson(ops, l)) });
  }
  // Release in the reverse of Terraform's order of taking: the item, then the file.
  const ordered = [...locks].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'dynamodb' ? -1 : 1));
  const results: Array<{ lock: (typeof locks)[number]; outcome: string }> = [];
  for (const lock of ordered) {
    results.push({ lock, outcome: await removeLock(ops, lock) });
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
