import { CommandContext } from './context';
import { CliError, ExitCode } from './errors';
import { formatTime, toJson } from './format';
import { getObject, StoredObject, summarizeState } from './state';
import { diffStates, renderDiff, StateDiff } from './state-diff';
import { listVersions } from './versions';

export interface DiffOptions {
  readonly key: string;
  readonly workspace?: string;
  readonly statePath: string;
  /** Default: the version before `to`. */
  readonly from?: string;
  /** Default: the current version. */
  readonly to?: string;
  readonly values: boolean;
}

/** One side of a diff, as the output names it. */
export interface DiffSide {
  readonly versionId: string;
  /** null: not known (both versions were named, so the versions were not listed). */
  readonly current: boolean | null;
  readonly lastModified: string | null;
  readonly serial: number | null;
  readonly lineage: string | null;
}

export function side(obj: StoredObject, current: boolean | null): DiffSide {
  const s = summarizeState(obj.body);
  return {
    versionId: obj.versionId ?? 'null',
    current,
    lastModified: obj.lastModified?.toISOString() ?? null,
    serial: s.serial ?? null,
    lineage: s.lineage ?? null,
  };
}

/** Reads one version (undefined: the current one); a missing one is NOT_FOUND, naming `history`. */
export async function readStateVersion(
  ctx: CommandContext, options: { key: string; workspace?: string; statePath: string }, versionId?: string,
): Promise<StoredObject> {
  const { bucket } = ctx.ops.backend;
  const obj = await getObject(ctx.ops.s3, bucket, options.statePath, versionId);
  if (!obj) {
    const history = ctx.suggest(['history', options.key, ...(options.workspace ? ['--workspace', options.workspace] : [])]);
    throw new CliError(`${versionId ? `version ${versionId} of ` : 'no current state at '}s3://${bucket}/${options.statePath}${versionId ? ' not found' : ''}. `
      + `See the versions with: ${history}`, ExitCode.NOT_FOUND);
  }
  return obj;
}

/** The diff of two stored versions, or a refusal naming the side that is not a state. */
export function diffObjects(statePath: string, from: StoredObject, to: StoredObject, values: boolean): StateDiff {
  try {
    return diffStates(from.body, to.body, values);
  } catch (e) {
    throw new CliError(`cannot compare versions ${from.versionId} and ${to.versionId} of ${statePath}: ${(e as Error).message}`, ExitCode.FAILURE);
  }
}

/** The diff as --json gives it (diff and restore --dry-run). */
export function diffJson(bucket: string, statePath: string, from: DiffSide, to: DiffSide, diff: StateDiff): Record<string, unknown> {
  return { bucket, statePath, from, to, resources: diff.resources, outputs: diff.outputs };
}

/** The diff's heading: which version is compared with which. */
export function diffHeading(bucket: string, statePath: string, from: DiffSide, to: DiffSide): string {
  const name = (s: DiffSide) => `version ${s.versionId}${s.current ? ' (current)' : ''}, serial ${s.serial ?? '?'}, ${formatTime(s.lastModified ? new Date(s.lastModified) : undefined)}`;
  const lineage = from.lineage !== to.lineage ? `\n  (different lineages: ${from.lineage} and ${to.lineage})` : '';
  return `s3://${bucket}/${statePath}\n  from ${name(from)}\n  to   ${name(to)}${lineage}\n\n`;
}

/** `diff <key> [--from V] [--to V] [--values]`: resource-level differences between two versions. */
export async function diffCommand(ctx: CommandContext, options: DiffOptions): Promise<ExitCode> {
  const { ops } = ctx;
  const { bucket } = ops.backend;
  let { from, to } = options;
  let currentId: string | undefined;
  if (from === undefined || to === undefined) {
    const { versions } = await listVersions(ops.s3, bucket, options.statePath, 0);
    const objects = versions.filter((v) => !v.deleteMarker);
    currentId = versions.find((v) => v.isLatest && !v.deleteMarker)?.versionId;
    if (to === undefined) {
      if (currentId === undefined) {
        throw new CliError(`no current state at s3://${bucket}/${options.statePath}${versions.length ? ' (the current version is a delete marker)' : ' (no versions of that key)'}: pass --to`, ExitCode.NOT_FOUND);
      }
      to = currentId;
    }
    if (from === undefined) {
      const at = objects.findIndex((v) => v.versionId === to);
      if (at < 0) {
        throw new CliError(`version ${to} of s3://${bucket}/${options.statePath} not found among its versions: pass --from as well, `
          + `or see them with: ${ctx.suggest(['history', options.key])}`, ExitCode.NOT_FOUND);
      }
      if (at + 1 >= objects.length) {
        throw new CliError(`version ${to} is the oldest version of s3://${bucket}/${options.statePath}: there is nothing before it to compare with`, ExitCode.NOT_FOUND);
      }
      from = objects[at + 1].versionId;
    }
  }
  const [a, b] = await Promise.all([readStateVersion(ctx, options, from), readStateVersion(ctx, options, to)]);
  const diff = diffObjects(options.statePath, a, b, options.values);
  const fromSide = side(a, currentId !== undefined ? a.versionId === currentId : null);
  const toSide = side(b, currentId !== undefined ? b.versionId === currentId : null);
  if (ctx.json) {
    ctx.out(toJson(diffJson(bucket, options.statePath, fromSide, toSide, diff)));
  } else {
    ctx.out(diffHeading(bucket, options.statePath, fromSide, toSide) + renderDiff(diff));
  }
  return ExitCode.OK;
}
