import { CommandContext } from './context';
import { CliError, ExitCode } from './errors';
import { formatTime, renderTable, toJson } from './format';
import { listVersions, readVersions } from './versions';

export interface HistoryOptions {
  readonly key: string;
  readonly workspace?: string;
  readonly statePath: string;
  /** 0: all. */
  readonly limit: number;
}

/** `history <key>`: the versions of a state, newest first, the current one marked. */
export async function historyCommand(ctx: CommandContext, options: HistoryOptions): Promise<ExitCode> {
  const { ops } = ctx;
  const { bucket } = ops.backend;
  const { versions, more, others } = await listVersions(ops.s3, bucket, options.statePath, options.limit);
  if (versions.length === 0) {
    const seen = others.length > 0 ? ` Keys under that prefix: ${others.join(', ')}.` : '';
    throw new CliError(`no state at s3://${bucket}/${options.statePath} (no versions of that key).${seen}`, ExitCode.NOT_FOUND);
  }
  const read = await readVersions(ops.s3, bucket, options.statePath, versions);
  if (ctx.json) {
    ctx.out(toJson({
      bucket,
      statePath: options.statePath,
      versions: read.map((v) => ({
        versionId: v.versionId,
        current: v.isLatest,
        deleteMarker: v.deleteMarker,
        lastModified: v.lastModified?.toISOString() ?? null,
        size: v.size ?? null,
        md5: v.md5 ?? null,
        serial: v.state?.serial ?? null,
        lineage: v.state?.lineage ?? null,
        terraformVersion: v.state?.terraformVersion ?? null,
        ...(v.state?.problem ? { problem: v.state.problem } : {}),
      })),
      more,
    }));
    return ExitCode.OK;
  }
  const rows = read.map((v) => [
    v.isLatest ? '*' : '',
    v.versionId,
    formatTime(v.lastModified),
    v.deleteMarker ? '(deleted)' : String(v.size ?? '?'),
    v.state?.serial !== undefined ? String(v.state.serial) : '-',
    v.state?.lineage ?? (v.state?.problem ? `(${v.state.problem})` : '-'),
    v.state?.terraformVersion ?? '-',
  ]);
  ctx.out(`s3://${bucket}/${options.statePath}\n\n`);
  ctx.out(renderTable(['', 'VERSION ID', 'LAST MODIFIED', 'SIZE', 'SERIAL', 'LINEAGE', 'TERRAFORM'], rows));
  const current = read.find((v) => v.isLatest);
  const notes: string[] = [];
  if (more) {
    notes.push(`Showing the newest ${options.limit}; --limit 0 shows all.`);
  }
  if (current?.deleteMarker) {
    notes.push('The current version is a delete marker: the state is deleted.');
  }
  const older = read.find((v) => !v.isLatest && !v.deleteMarker);
  if (older) {
    const keyArgs = [options.key, ...(options.workspace ? ['--workspace', options.workspace] : [])];
    notes.push(`* current. Restore a version with: ${ctx.suggest(['restore', ...keyArgs, '--version-id', '<VERSION ID>'])}`);
  }
  if (notes.length > 0) {
    ctx.out(`\n${notes.join('\n')}\n`);
  }
  return ExitCode.OK;
}
