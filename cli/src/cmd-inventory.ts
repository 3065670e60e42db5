import { CommandContext } from './context';
import { ExitCode } from './errors';
import { formatAge, formatOperation, formatTime, renderTable, toJson } from './format';
import { Anomaly, collectInventory, Inventory, InventorySort, InventoryState, sortStates } from './inventory';
import { describeLockPlaces, lockCreated, lockJson, lockPlaces, Ops } from './locks';

export interface InventoryCommandOptions {
  readonly prefix?: string;
  readonly staleAfterMs?: number;
  readonly locked: boolean;
  readonly mismatch: boolean;
  readonly sort: InventorySort;
}

/** Above this many states to read, an interactive stderr gets a progress line. */
export const PROGRESS_ABOVE = 500;

/** The states the filters keep, sorted. */
export function shownStates(inv: Inventory, options: InventoryCommandOptions): InventoryState[] {
  return sortStates(inv.states.filter((s) => (!options.locked || s.locks.length > 0) && (!options.mismatch || s.digest === 'mismatch')), options.sort);
}

/** A state as --json shows it. */
export function stateJson(ops: Ops, s: InventoryState): Record<string, unknown> {
  return {
    path: s.path,
    workspace: s.workspace,
    key: s.key,
    serial: s.serial,
    lineage: s.lineage,
    terraformVersion: s.terraformVersion,
    resources: s.resources,
    size: s.size,
    lastModified: s.lastModified?.toISOString() ?? null,
    versionId: s.versionId,
    md5: s.md5,
    lock: s.locks.length > 0 ? s.locks.map((l) => lockJson(ops, l)) : null,
    digest: s.digest,
    digestValue: s.digestValue,
  };
}

/** The inventory of one backend as --json shows it. */
export function inventoryJson(ops: Ops, inv: Inventory, options: InventoryCommandOptions): Record<string, unknown> {
  const shown = shownStates(inv, options);
  return {
    bucket: ops.backend.bucket,
    table: ops.backend.table ?? null,
    workspaceKeyPrefix: ops.backend.workspaceKeyPrefix,
    prefix: options.prefix ?? null,
    searched: {
      objectsListed: inv.objectsListed,
      objectsRead: inv.objectsRead,
      notRead: inv.notRead,
      lockFilesNotRead: inv.lockFilesNotRead,
      locks: lockPlaces(ops.backend),
      digests: ops.backend.table ? { table: ops.backend.table } : null,
    },
    states: shown.map((s) => stateJson(ops, s)),
    notShown: inv.states.length - shown.length,
    anomalies: inv.anomalies,
  };
}

/** The LOCK cell: `ID by who (operation, age)`, both kinds joined, or `-`. */
function lockCell(ops: Ops, s: InventoryState): string {
  if (s.locks.length === 0) return '-';
  const now = ops.now().getTime();
  const seen = new Map<string, string[]>();
  for (const l of s.locks) {
    const created = lockCreated(l);
    const text = l.info
      ? `${l.info.ID} by ${l.info.Who || '?'} (${formatOperation(l.info.Operation)}, ${created ? formatAge(now - created.getTime()) : '?'})`
      : `? (${l.problem})`;
    seen.set(text, [...(seen.get(text) ?? []), l.kind]);
  }
  return [...seen].map(([text, kinds]) => `${text} [${kinds.join('+')}]`).join('; ');
}

export const STATE_HEADERS = ['PATH', 'WORKSPACE', 'KEY', 'SERIAL', 'RESOURCES', 'SIZE', 'LAST MODIFIED', 'TERRAFORM', 'DIGEST', 'LOCK', 'VERSION ID', 'LINEAGE'];

export function stateRow(ops: Ops, s: InventoryState): string[] {
  return [
    s.path, s.workspace, s.key, String(s.serial), String(s.resources), String(s.size), formatTime(s.lastModified), s.terraformVersion ?? '-',
    s.digest, lockCell(ops, s), s.versionId ?? '-', s.lineage,
  ];
}

export const ANOMALY_HEADERS = ['ANOMALY', 'PATH', 'DETAIL'];

export function anomalyRow(a: Anomaly): string[] {
  return [a.kind, a.path, a.detail];
}

/** What was looked at, as a sentence. */
export function lookedAt(ops: Ops, inv: Inventory, prefix?: string): string {
  const { backend } = ops;
  const notRead = inv.notRead.count > 0
    ? ` ${inv.notRead.count} other object${inv.notRead.count === 1 ? '' : 's'} not read (not a state by name, and named by no lock or digest: ${inv.notRead.examples.join(', ')}${inv.notRead.count > inv.notRead.examples.length ? ', ...' : ''}).`
    : '';
  const lockFiles = inv.lockFilesNotRead > 0
    ? ` ${inv.lockFilesNotRead} .tflock object${inv.lockFilesNotRead === 1 ? '' : 's'} not read: the backend does not use lock files (pass --lockfile to read them).`
    : '';
  return `Looked at: ${inv.objectsListed} object${inv.objectsListed === 1 ? '' : 's'} of s3://${backend.bucket}/${prefix ?? ''} (${inv.objectsRead} read); `
    + `locks: ${describeLockPlaces(backend)}; digests: ${backend.table ? `the digest items of table ${backend.table}` : 'none (no lock table: digest n/a)'}.${notRead}${lockFiles}`;
}

/** `inventory`: every state in the backend, with its lock and digest, and the anomalies. */
export async function inventoryCommand(ctx: CommandContext, options: InventoryCommandOptions): Promise<ExitCode> {
  const { ops } = ctx;
  const inv = await collectInventory(ops, {
    prefix: options.prefix,
    staleAfterMs: options.staleAfterMs,
    progress: ctx.progress ? progressLine(ctx.progress) : undefined,
  });
  if (ctx.json) {
    ctx.out(toJson(inventoryJson(ops, inv, options)));
    return ExitCode.OK;
  }
  const shown = shownStates(inv, options);
  const hidden = inv.states.length - shown.length;
  if (shown.length > 0) {
    ctx.out(renderTable(STATE_HEADERS, shown.map((s) => stateRow(ops, s))));
  }
  ctx.out(`${shown.length > 0 ? '\n' : ''}${shown.length} state${shown.length === 1 ? '' : 's'}${hidden ? ` shown (${hidden} not matching the filters)` : ''}. ${lookedAt(ops, inv, options.prefix)}\n`);
  if (inv.anomalies.length > 0) {
    ctx.out(`\n${renderTable(ANOMALY_HEADERS, inv.anomalies.map(anomalyRow))}`);
  } else {
    ctx.out('\nNo anomalies.\n');
  }
  return ExitCode.OK;
}

/** A progress reporter that rewrites one stderr line, at most every 250 states and at the end. */
export function progressLine(write: (text: string) => void): (done: number, total: number) => void {
  return (done, total) => {
    if (total <= PROGRESS_ABOVE) return;
    if (done % 250 === 0 || done === total) {
      write(`\rinventory: read ${done} of ${total} states${done === total ? '\n' : ''}`);
    }
  };
}
