/** `locks` and `inventory` over several backends: one table with ACCOUNT and REGION columns. */
import { anomalyRow, ANOMALY_HEADERS, InventoryCommandOptions, inventoryJson, lookedAt, shownStates, stateRow, STATE_HEADERS } from './cmd-inventory';
import { ExitCode } from './errors';
import { FleetTarget, fleetFailures, overFleet } from './fleet';
import { formatAge, formatOperation, formatTime, renderTable, toJson } from './format';
import { collectInventory } from './inventory';
import { describeLockPlaces, listLocks, lockCreated, lockJson, lockPlaces } from './locks';

export interface FleetOutput {
  readonly json: boolean;
  readonly out: (text: string) => void;
  readonly now: () => Date;
}

function failure(t: FleetTarget): Record<string, unknown> {
  return { account: t.account, region: t.region, ok: false, error: { message: t.error!.message, exitCode: t.error!.exitCode } };
}

function exitOf(results: readonly FleetTarget[]): ExitCode {
  return results.some((r) => r.error) ? ExitCode.FAILURE : ExitCode.OK;
}

/** `inventory --accounts/--organization`. */
export async function inventoryFleetCommand(ctx: FleetOutput, targets: readonly FleetTarget[], options: InventoryCommandOptions): Promise<ExitCode> {
  const results = await overFleet(targets, (ops) => collectInventory(ops, { prefix: options.prefix, staleAfterMs: options.staleAfterMs }));
  if (ctx.json) {
    ctx.out(toJson({
      backends: results.map((r) => (r.result && r.ops
        ? { account: r.account, region: r.region, ok: true, ...inventoryJson(r.ops, r.result, options) }
        : failure(r))),
      failed: results.filter((r) => r.error).length,
    }));
    return exitOf(results);
  }
  const rows: string[][] = [];
  const anomalies: string[][] = [];
  const looked: string[] = [];
  for (const r of results) {
    if (!r.result || !r.ops) continue;
    rows.push(...shownStates(r.result, options).map((s) => [r.account, r.region, ...stateRow(r.ops!, s)]));
    anomalies.push(...r.result.anomalies.map((a) => [r.account, r.region, ...anomalyRow(a)]));
    looked.push(`  ${r.account} ${r.region}: ${lookedAt(r.ops, r.result, options.prefix)}`);
  }
  if (rows.length > 0) ctx.out(renderTable(['ACCOUNT', 'REGION', ...STATE_HEADERS], rows));
  ctx.out(`\n${rows.length} state${rows.length === 1 ? '' : 's'} in ${looked.length} backend${looked.length === 1 ? '' : 's'}.\n${looked.join('\n')}\n`);
  ctx.out(anomalies.length > 0 ? `\n${renderTable(['ACCOUNT', 'REGION', ...ANOMALY_HEADERS], anomalies)}` : '\nNo anomalies.\n');
  ctx.out(fleetFailures(results));
  return exitOf(results);
}

/** `locks --accounts/--organization`. */
export async function locksFleetCommand(ctx: FleetOutput, targets: readonly FleetTarget[], olderThanMs?: number): Promise<ExitCode> {
  const now = ctx.now().getTime();
  const results = await overFleet(targets, async (ops) => (await listLocks(ops)).filter((l) => {
    const created = lockCreated(l);
    return olderThanMs === undefined || created === undefined || now - created.getTime() >= olderThanMs;
  }));
  if (ctx.json) {
    ctx.out(toJson({
      backends: results.map((r) => (r.result && r.ops
        ? {
            account: r.account, region: r.region, ok: true, bucket: r.ops.backend.bucket, table: r.ops.backend.table ?? null,
            searched: lockPlaces(r.ops.backend), locks: r.result.map((l) => lockJson(r.ops!, l)),
          }
        : failure(r))),
      failed: results.filter((r) => r.error).length,
    }));
    return exitOf(results);
  }
  const rows: string[][] = [];
  const looked: string[] = [];
  for (const r of results) {
    if (!r.result || !r.ops) continue;
    looked.push(`  ${r.account} ${r.region}: ${describeLockPlaces(r.ops.backend)}`);
    for (const l of r.result) {
      const created = lockCreated(l);
      rows.push([
        r.account, r.region, l.statePath, l.kind, l.info?.ID || '?', l.info?.Who || '-', l.info ? formatOperation(l.info.Operation) : `? (${l.problem})`,
        l.info?.Version || '-', formatTime(created), created ? formatAge(now - created.getTime()) : '?',
      ]);
    }
  }
  if (rows.length > 0) ctx.out(renderTable(['ACCOUNT', 'REGION', 'STATE PATH', 'LOCK', 'ID', 'WHO', 'OPERATION', 'VERSION', 'CREATED', 'AGE'], rows));
  ctx.out(`${rows.length > 0 ? '\n' : ''}${rows.length} lock${rows.length === 1 ? '' : 's'} in ${looked.length} backend${looked.length === 1 ? '' : 's'}. Looked at:\n${looked.join('\n')}\n`);
  ctx.out(fleetFailures(results));
  return exitOf(results);
}
