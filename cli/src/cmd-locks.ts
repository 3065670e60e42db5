import { CommandContext } from './context';
import { ExitCode } from './errors';
import { formatAge, formatOperation, formatTime, renderTable, toJson } from './format';
import { describeLockPlaces, lockCreated, lockJson, listLocks, lockPlaces } from './locks';

export interface LocksOptions {
  /** Only locks at least this old (ms). */
  readonly olderThanMs?: number;
}

/** `locks`: every lock in the backend. */
export async function locksCommand(ctx: CommandContext, options: LocksOptions): Promise<ExitCode> {
  const { ops } = ctx;
  const now = ops.now().getTime();
  const all = await listLocks(ops);
  const shown = all.filter((l) => {
    if (options.olderThanMs === undefined) {
      return true;
    }
    const created = lockCreated(l);
    // A lock whose age cannot be told is shown: it may well be stale.
    return created === undefined || now - created.getTime() >= options.olderThanMs;
  });
  const hidden = all.length - shown.length;
  if (ctx.json) {
    ctx.out(toJson({
      bucket: ops.backend.bucket,
      table: ops.backend.table ?? null,
      searched: lockPlaces(ops.backend),
      locks: shown.map((l) => lockJson(ops, l)),
      notShown: hidden,
    }));
    return ExitCode.OK;
  }
  const looked = `Looked at: ${describeLockPlaces(ops.backend)}.`;
  if (shown.length === 0) {
    ctx.out(`No locks${hidden ? ` older than the limit (${hidden} younger not shown)` : ''}. ${looked}\n`);
    return ExitCode.OK;
  }
  const rows = shown.map((l) => {
    const created = lockCreated(l);
    return [
      l.statePath,
      l.kind,
      l.info?.ID || '?',
      l.info?.Who || '-',
      l.info ? formatOperation(l.info.Operation) : `? (${l.problem})`,
      l.info?.Version || '-',
      formatTime(created),
      created ? formatAge(now - created.getTime()) : '?',
    ];
  });
  ctx.out(renderTable(['STATE PATH', 'LOCK', 'ID', 'WHO', 'OPERATION', 'VERSION', 'CREATED', 'AGE'], rows));
  ctx.out(`\n${shown.length} lock${shown.length === 1 ? '' : 's'}${hidden ? ` (${hidden} younger not shown)` : ''}. ${looked} `
    + `Remove a stale one with: ${ctx.suggest(['unlock', '<STATE PATH>', '--id', '<ID>'])}\n`);
  return ExitCode.OK;
}
