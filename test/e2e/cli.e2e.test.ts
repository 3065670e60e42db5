/**
 * End to end, tfstate-ops (the state-operations tool of cli/) with the real Terraform
 * binary, on backends deployed into moto_server: the commands of the README's "When
 * things go wrong" on the situations they are for.
 *
 * The backends are the construct's stacks: the default `TerraformStateBackendStack`
 * (DYNAMODB, as the app deploys it) and one with S3_LOCKFILE and a customer-managed
 * key, synthesized in this process and created by moto's CloudFormation from their
 * templates (CreateStack with the template body: what `cdk deploy --method=direct`
 * sends for these asset-free stacks, without a second process that synthesizes them
 * again; the CLI's own deploy is proven by app.e2e and locking-encryption.e2e). The
 * tool finds them as users do, through the discovery parameters the stacks publish.
 * moto's CloudFormation applies a bucket's encryption but not its versioning, so the
 * test turns on the versioning the template asks for (asserted below) itself.
 *
 * The tool runs as users run it, `node cli/bin/tfstate-ops.js` (the DYNAMODB stale
 * lock, the first `digest`), and elsewhere in this process through `main(argv, io)`,
 * which lets a test set the clock (`locks --older-than`) and hold `restore` inside its
 * locked section: the S3 client the tool is given stops before it sends the state's
 * PutObject (StateWriteGate). That point comes after the tool has taken the lock and
 * read the versions and before it writes, which is where a concurrent Terraform would
 * interleave; holding it there makes the overlap certain instead of timed. A Terraform
 * started then shows what it meets: `plan -lock-timeout=0s` fails naming the tool as
 * the holder; `apply -lock-timeout=60s` is let go on only after its own debug log shows
 * a lock attempt refused, and then applies on the restored state, after the restore.
 *
 * What moto cannot prove is listed in app.e2e.test.ts; in particular nothing here runs
 * with narrowed IAM permissions: README "Permissions" is proven in-process, against an
 * emulated IAM that answers as S3 does (cli/test/permissions.test.ts).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CreateStackCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import { App } from 'aws-cdk-lib/core';
import { LockingMode, StateEncryption, TerraformStateBackendStack } from '../../lib';
import { MotoServer, startMotoServer } from '../support/moto-server';
import { ProcessResult, waitForOutput } from '../support/processes';
import { emulatorBackendConfig, printedLockInfo, RESOURCE_ADDRESS } from '../support/terraform';
import {
  describeToolRun, InProcessOptions, IN_PROCESS_WHO, mustExit, StateWriteGate, tfstateOps, tfstateOpsBin, ToolRun,
} from '../support/tfstate-ops';
import { describeWithTools } from '../support/tools';
import {
  Backend, digestItem, discoveryParameters, emulatorClients, EmulatorClients, getObject, KilledHolder, killWhileLocked, Locks, locks, md5,
  must, overwriteState, Overwritten, recordedRun, REFUSED_LOCK_ATTEMPT, runners, ScenarioRuns, waitForLocks, tearDown,
} from './scenarios';

/** The default stack (DYNAMODB), under the app's stack name and discovery prefix. */
const DEFAULT_STACK = 'TerraformStateBackend';
/** S3_LOCKFILE with a customer-managed key. */
const LOCKFILE_STACK = 'E2eCliLockfile';

/** A lock ID no Terraform run took. */
const WRONG_ID = '4c1a9e0e-1111-2222-3333-444455556666';
const HOUR_MS = 3_600_000;

/** A backend with the discovery prefix the tool finds it by. */
interface CliBackend extends Backend {
  readonly discovery: string;
  /** The customer-managed key the stack made (S3_LOCKFILE stack). */
  readonly kmsKeyArn?: string;
}

/** One row of a `locks` table: its cells, by column. */
function lockRow(out: string, statePath: string): Record<string, string> | undefined {
  const lines = out.split('\n');
  const header = lines[0].split(/ {2,}/);
  const row = lines.find((l) => l.startsWith(`${statePath}  `));
  if (!row) return undefined;
  const cells = row.split(/ {2,}/);
  return Object.fromEntries(header.map((h, i) => [h, cells[i]]));
}

/** The locks on `statePath` in the output of `locks --json`. */
function listedLocks(r: ToolRun, statePath: string): Array<Record<string, unknown>> {
  return (JSON.parse(mustExit(r).stdout) as { locks: Array<Record<string, unknown>> }).locks.filter((l) => l.statePath === statePath);
}

/** A row of `history --json`. */
interface HistoryVersion {
  readonly versionId: string;
  readonly current: boolean;
  readonly serial: number | null;
  readonly lineage: string | null;
  readonly md5: string | null;
}

function versionsOf(r: ToolRun): HistoryVersion[] {
  return (JSON.parse(mustExit(r).stdout) as { versions: HistoryVersion[] }).versions;
}

// Tests await scenarios that beforeAll started side by side; on a loaded machine they can take a while.
jest.setTimeout(90_000);

describeWithTools(['terraform', 'moto_server'], 'tfstate-ops with Terraform on the deployed backends (moto_server)', () => {
  let moto: MotoServer;
  let aws: EmulatorClients;
  let root: string;
  let dynamodb: CliBackend;
  let lockfile: CliBackend;
  let templates: Record<string, { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> }>;
  const runs = new ScenarioRuns();
  const timings = runs.timings;

  /** The tool in this process, on backend `b` (found by its discovery parameters). */
  function ops(b: CliBackend, argv: readonly string[], options: Omit<InProcessOptions, 'endpoint'> = {}): Promise<ToolRun> {
    return tfstateOps([...argv, '--discovery', b.discovery], { endpoint: moto.endpoint, ...options });
  }

  /** The real command, on backend `b`. */
  function bin(b: CliBackend, argv: readonly string[]): Promise<ToolRun> {
    return tfstateOpsBin([...argv, '--discovery', b.discovery], moto.endpoint);
  }

  // ---------------------------------------------------------------------------------
  // A stale lock: locks, --older-than, unlock with a wrong and with the right ID.

  interface Stale {
    readonly statePath: string;
    readonly holder: KilledHolder;
    /** The ID of the lock the killed run left. */
    readonly id: string;
    readonly list: ToolRun;
    readonly listJson: ToolRun;
    /** `locks --older-than 1h --json` now. */
    readonly olderNow: ToolRun;
    /** `locks --older-than 1h` with the tool's clock two hours on. */
    readonly olderLater: ToolRun;
    readonly wrongId: ToolRun;
    readonly afterWrong: Locks;
    readonly rightId: ToolRun;
    readonly cleared: Locks;
    readonly planAfter: ProcessResult;
    readonly durationMs: number;
  }

  async function staleScenario(b: CliBackend, statePath: string, via: 'bin' | 'main'): Promise<Stale> {
    const t0 = Date.now();
    const tool = (argv: readonly string[]) => (via === 'bin' ? bin(b, argv) : ops(b, argv));
    const [victim, rescuer] = runners(b, 'cli-stale', ['victim', 'rescuer'], [`key=${statePath}`]);
    await Promise.all([victim, rescuer].map(async (d) => must(await d.init())));
    const holder = await killWhileLocked(b, statePath, victim);
    const id = (holder.left.item ?? holder.left.file)?.ID;
    if (!id) throw new Error(`the killed run left no lock on ${statePath}: ${JSON.stringify(holder)}`);
    const list = await tool(['locks']);
    const listJson = await tool(['locks', '--json']);
    const olderNow = await tool(['locks', '--older-than', '1h', '--json']);
    const olderLater = await ops(b, ['locks', '--older-than', '1h'], { now: () => new Date(Date.now() + 2 * HOUR_MS) });
    const wrongId = await tool(['unlock', statePath, '--id', WRONG_ID]);
    const afterWrong = await locks(b, statePath);
    const rightId = await tool(['unlock', statePath, '--id', id]);
    const cleared = await locks(b, statePath);
    const planAfter = await rescuer.run(['plan', '-input=false', '-lock-timeout=0s']);
    return {
      statePath, holder, id, list, listJson, olderNow, olderLater, wrongId, afterWrong, rightId, cleared, planAfter, durationMs: Date.now() - t0,
    };
  }

  function expectStale(r: Stale, b: CliBackend, kind: 'dynamodb' | 'lockfile'): void {
    expect(r.holder.killed.signal).toBe('SIGKILL');
    const lock = kind === 'dynamodb' ? r.holder.left.item : r.holder.left.file;
    expect(lock?.ID).toBe(r.id);

    // The table names the lock, who holds it, and how old it is.
    mustExit(r.list);
    expect(lockRow(r.list.stdout, r.statePath)).toEqual({
      'STATE PATH': r.statePath,
      'LOCK': kind,
      'ID': r.id,
      'WHO': lock!.Who,
      'OPERATION': 'apply',
      'VERSION': lock!.Version,
      'CREATED': `${lock!.Created.slice(0, 19)}Z`,
      'AGE': expect.stringMatching(/^\d+s$|^\d+m\d\ds$/),
    });
    expect(r.list.stdout).toContain(`Remove a stale one with: tfstate-ops unlock <STATE PATH> --id <ID> --discovery ${b.discovery}`);
    const listed = listedLocks(r.listJson, r.statePath);
    expect(listed).toEqual([expect.objectContaining({
      kind, id: r.id, operation: 'OperationTypeApply', who: lock!.Who, created: lock!.Created, path: `${b.bucket}/${r.statePath}`,
      ageSeconds: expect.any(Number),
    })]);
    expect(listed[0].ageSeconds).toBeLessThan(HOUR_MS / 1000);
    // --older-than: not a stale lock yet by the real clock; two hours later it is.
    const olderNow = JSON.parse(mustExit(r.olderNow).stdout) as { locks: Array<{ statePath: string }>; notShown: number };
    expect(olderNow.locks.map((l) => l.statePath)).not.toContain(r.statePath);
    expect(olderNow.notShown).toBeGreaterThanOrEqual(1);
    expect(lockRow(mustExit(r.olderLater).stdout, r.statePath)).toMatchObject({ ID: r.id, AGE: expect.stringMatching(/^2h0[01]m$/) });

    // A wrong ID is refused (exit 3, README "Exit codes"), naming the lock that is there; it stays.
    expect({ code: r.wrongId.code, stdout: r.wrongId.stdout }).toEqual({ code: 3, stdout: '' });
    expect(r.wrongId.stderr).toContain(`tfstate-ops: lock ID ${WRONG_ID} does not match the lock on ${r.statePath}; nothing was removed:`);
    expect(r.wrongId.stderr).toMatch(new RegExp(`ID: +${r.id}`));
    expect((kind === 'dynamodb' ? r.afterWrong.item : r.afterWrong.file)?.ID).toBe(r.id);

    // The right ID removes it, and Terraform runs again.
    mustExit(r.rightId);
    expect(r.rightId.stdout).toContain(`Removed lock ${r.id} on ${r.statePath} (OperationTypeApply by ${lock!.Who}`);
    expect(r.rightId.stdout).toContain(kind === 'dynamodb'
      ? `item LockID="${b.bucket}/${r.statePath}" in table ${b.table}`
      : `s3://${b.bucket}/${r.statePath}.tflock`);
    expect(r.cleared).toEqual({ item: undefined, file: undefined });
    must(r.planAfter);
  }

  // ---------------------------------------------------------------------------------
  // A lock held by a live apply.

  interface Live {
    readonly statePath: string;
    readonly held: Locks;
    readonly list: ToolRun;
    readonly noId: ToolRun;
    readonly wrongId: ToolRun;
    readonly stillHeld: Locks;
    readonly holder: ProcessResult;
    readonly after: Locks;
    readonly durationMs: number;
  }

  async function liveScenario(b: CliBackend, statePath: string): Promise<Live> {
    const t0 = Date.now();
    const [dir] = runners(b, 'cli-live', ['holder'], [`key=${statePath}`]);
    must(await dir.init());
    const release = path.join(dir.dir, 'release');
    // The apply holds the lock until the file exists: as long as the test needs, no longer.
    const holderProcess = dir.startApply({ run: 'live', holdUntil: release });
    let held: Locks;
    let list: ToolRun;
    let noId: ToolRun;
    let wrongId: ToolRun;
    let stillHeld: Locks;
    try {
      held = await waitForLocks(b, statePath, holderProcess);
      list = await ops(b, ['locks', '--json']);
      noId = await ops(b, ['unlock', statePath]);
      wrongId = await ops(b, ['unlock', statePath, '--id', WRONG_ID]);
      stillHeld = await locks(b, statePath);
    } finally {
      fs.writeFileSync(release, '');
    }
    const holder = await holderProcess.done;
    const after = await locks(b, statePath);
    return { statePath, held, list, noId, wrongId, stillHeld, holder, after, durationMs: Date.now() - t0 };
  }

  // ---------------------------------------------------------------------------------
  // History and restore, with Terraform running into the restore's lock.

  interface Held {
    readonly run: ToolRun;
    /** The locks read while the tool was held inside its locked section. */
    readonly held: Locks;
    /** The Terraform run made while it was held. */
    readonly terraform: ProcessResult;
  }

  interface Restore {
    readonly statePath: string;
    readonly history: ToolRun;
    /** After the two applies: [second, first] (newest first). */
    readonly before: HistoryVersion[];
    readonly firstState: string;
    /** restore of the first version, with `plan -lock-timeout=0s` run while it holds the lock. */
    readonly first: Held;
    readonly afterFirst: {
      readonly versions: HistoryVersion[];
      readonly state?: { body: string; sse?: string; kmsKeyId?: string };
      readonly digest?: string;
      readonly stateList: ProcessResult;
      readonly plan: ProcessResult;
    };
    /** restore of the second version, with `apply -lock-timeout=60s` started while it holds the lock. */
    readonly second: Held & { readonly restoreEndedAt: number };
    readonly final: { readonly versions: HistoryVersion[]; readonly state?: string; readonly digest?: string; readonly locks: Locks };
    readonly durationMs: number;
  }

  /**
   * Runs `restore` held at its state write; while held, reads the locks and starts the
   * Terraform run `during` makes; lets the restore go on when `whenToRelease` resolves.
   */
  async function heldRestore(
    b: CliBackend, statePath: string, versionId: string,
    during: () => { done: Promise<ProcessResult>; readyToRelease: Promise<unknown> },
  ): Promise<Held & { restoreEndedAt: number }> {
    const gate = new StateWriteGate(b.bucket, statePath);
    const restoring = ops(b, ['restore', statePath, '--version-id', versionId], { gate });
    let terraform: Promise<ProcessResult> | undefined;
    let held: Locks;
    try {
      // The tool stops at the write, or ends without reaching it (then its output says why).
      const reached = await Promise.race([gate.reached.then(() => true), restoring.then(() => false)]);
      if (!reached) throw new Error(`restore ended before it wrote the state\n${describeToolRun(await restoring)}`);
      held = await locks(b, statePath);
      const d = during();
      terraform = d.done;
      await d.readyToRelease;
    } finally {
      gate.release();
    }
    const run = await restoring;
    const restoreEndedAt = Date.now();
    return { run, held, terraform: await terraform, restoreEndedAt };
  }

  async function restoreScenario(b: CliBackend, statePath: string): Promise<Restore> {
    const t0 = Date.now();
    const [runner, other] = runners(b, 'cli-restore', ['runner', 'other'], [`key=${statePath}`]);
    await Promise.all([runner, other].map(async (d) => must(await d.init())));
    // Two applies: the first state has one resource, the second two.
    must(await runner.apply({ run: 'first' }));
    const firstState = (await getObject(b, statePath))!.body;
    must(await runner.apply({ run: 'second', extraResources: 1 }));
    const history = await ops(b, ['history', statePath]);
    const before = versionsOf(await ops(b, ['history', statePath, '--json']));
    const firstVersion = before.find((v) => v.md5 === md5(firstState));
    if (!firstVersion) throw new Error(`history does not list the first state (MD5 ${md5(firstState)}): ${JSON.stringify(before)}`);

    const first = await heldRestore(b, statePath, firstVersion.versionId, () => {
      const done = other.run(['plan', '-input=false', '-lock-timeout=0s']);
      return { done, readyToRelease: done };
    });
    const [versions, state, digest] = await Promise.all([ops(b, ['history', statePath, '--json']).then(versionsOf), getObject(b, statePath), digestItem(b, statePath)]);
    const stateList = await runner.run(['state', 'list']);
    // The configuration of the first apply: no changes if the state is the first one.
    const plan = await runner.run(['plan', '-input=false', '-lock-timeout=0s', '-detailed-exitcode']);

    const second = await heldRestore(b, statePath, before[0].versionId, () => {
      const waiter = other.startApply({ run: 'after-restore' }, ['-lock-timeout=60s'], { TF_LOG: 'DEBUG' });
      return { done: waiter.done, readyToRelease: waitForOutput(waiter, REFUSED_LOCK_ATTEMPT) };
    });
    const [finalVersions, finalState, finalDigest, finalLocks] = await Promise.all([
      ops(b, ['history', statePath, '--json']).then(versionsOf), getObject(b, statePath), digestItem(b, statePath), locks(b, statePath),
    ]);
    return {
      statePath, history, before, firstState, first, afterFirst: { versions, state, digest, stateList, plan }, second,
      final: { versions: finalVersions, state: finalState?.body, digest: finalDigest, locks: finalLocks }, durationMs: Date.now() - t0,
    };
  }

  function expectRestore(r: Restore, b: CliBackend): void {
    const heldLock = (l: Locks) => (b.lockfile ? l.file : l.item);
    const [second, first] = r.before;
    // history: both versions, newest first, with their serials; the current one marked.
    expect(r.before).toHaveLength(2);
    expect(second).toMatchObject({ current: true, lineage: first.lineage });
    expect(first).toMatchObject({ current: false, md5: md5(r.firstState) });
    expect(second.serial).toBeGreaterThan(first.serial!);
    const lines = mustExit(r.history).stdout.split('\n');
    expect(lines[0]).toBe(`s3://${b.bucket}/${r.statePath}`);
    expect(lines.find((l) => l.includes(second.versionId))).toMatch(new RegExp(`^\\*  ${second.versionId}  \\S+  \\d+ +${second.serial} +${second.lineage}  1\\.11\\.4$`));
    expect(lines.find((l) => l.includes(first.versionId))).toMatch(new RegExp(`^   ${first.versionId}  \\S+  \\d+ +${first.serial} +${first.lineage}  1\\.11\\.4$`));

    // While the restore holds the lock, Terraform cannot take it, and names the tool.
    const toolLock = heldLock(r.first.held)!;
    expect(toolLock).toMatchObject({ Operation: 'tfstate-ops restore', Who: `${IN_PROCESS_WHO} via tfstate-ops`, Path: `${b.bucket}/${r.statePath}` });
    expect(r.first.terraform.code).toBe(1);
    expect(r.first.terraform.output).toContain('Error acquiring the state lock');
    expect(r.first.terraform.output).toContain(b.lockfile ? 'StatusCode: 412' : 'ConditionalCheckFailedException');
    expect(r.first.terraform.output).toMatch(new RegExp(`ID: +${toolLock.ID}`));
    expect(r.first.terraform.output).toContain('Operation: tfstate-ops restore');
    expect(r.first.terraform.output).toContain(`Who:       ${IN_PROCESS_WHO} via tfstate-ops`);
    mustExit(r.first.run);
    expect(r.first.run.stdout).toContain(`Restored s3://${b.bucket}/${r.statePath} to version ${first.versionId}`);
    expect(r.first.run.stdout).toContain(`lock:      ${toolLock.ID} taken and released`);

    // The restored state: the first one's content, the next serial, the backend's encryption.
    const [restored] = r.afterFirst.versions;
    expect(r.afterFirst.versions).toHaveLength(3);
    expect(restored).toMatchObject({ current: true, serial: second.serial! + 1, lineage: first.lineage, md5: md5(r.afterFirst.state!.body) });
    expect(recordedRun(r.afterFirst.state?.body)).toBe('first');
    expect({ ...JSON.parse(r.afterFirst.state!.body), serial: 0 }).toEqual({ ...JSON.parse(r.firstState), serial: 0 });
    if (b.kmsKeyArn) {
      expect(r.afterFirst.state).toMatchObject({ sse: 'aws:kms', kmsKeyId: b.kmsKeyArn });
      expect(r.first.run.stdout).toContain(`aws:kms (${b.kmsKeyArn})`);
    } else {
      expect(r.afterFirst.state?.sse).toBe('AES256');
    }
    expect(r.afterFirst.digest).toBe(b.table ? md5(r.afterFirst.state!.body) : undefined);
    // Terraform reads it: state list shows the first state, plan finds nothing to do and no checksum error.
    expect(must(r.afterFirst.stateList).stdout.trim()).toBe(RESOURCE_ADDRESS);
    must(r.afterFirst.plan);
    expect(r.afterFirst.plan.output).toContain('No changes.');
    expect(r.afterFirst.plan.output).not.toContain('does not have the expected content');

    // An apply started during the second restore met its lock (its debug log shows the
    // refused attempt), waited, and ran after it, on the state the restore wrote: it
    // replaced the resource and destroyed the extra one that only the second state has.
    const secondLock = heldLock(r.second.held)!;
    expect(secondLock.Operation).toBe('tfstate-ops restore');
    mustExit(r.second.run);
    must(r.second.terraform, [secondLock.ID]);
    expect(r.second.terraform.output).toContain('Apply complete! Resources: 1 added, 0 changed, 2 destroyed.');
    expect(r.second.terraform.startedAt).toBeLessThan(r.second.restoreEndedAt);
    expect(r.second.terraform.endedAt).toBeGreaterThan(r.second.restoreEndedAt);
    // Newest first: the apply's state, the restore's (serial + 1 each time), then the rest.
    const [applied, restoredSecond] = r.final.versions;
    expect(r.final.versions).toHaveLength(5);
    expect(restoredSecond).toMatchObject({ current: false, serial: second.serial! + 2, lineage: first.lineage });
    expect(applied).toMatchObject({ current: true, serial: second.serial! + 3, lineage: first.lineage, md5: md5(r.final.state!) });
    expect(recordedRun(r.final.state)).toBe('after-restore');
    expect(r.final.digest).toBe(b.table ? md5(r.final.state!) : undefined);
    expect(r.final.locks).toEqual({ item: undefined, file: undefined });
  }

  // ---------------------------------------------------------------------------------
  // A state overwritten behind Terraform's back.

  interface Digest {
    readonly statePath: string;
    readonly appliedVersion?: string;
    readonly overwritten: Overwritten;
    readonly check: ToolRun;
    readonly checkJson: ToolRun;
    readonly fix: ToolRun;
    readonly digestAfterFix?: string;
    readonly recheck: ToolRun;
    readonly plan: ProcessResult;
    readonly durationMs: number;
  }

  async function digestScenario(b: CliBackend, statePath: string): Promise<Digest> {
    const t0 = Date.now();
    const [dir] = runners(b, 'cli-digest', ['runner'], [`key=${statePath}`]);
    must(await dir.init());
    must(await dir.apply({ run: 'before-overwrite' }));
    const appliedVersion = versionsOf(await ops(b, ['history', statePath, '--json']))[0]?.versionId;
    // Terraform now refuses the state (after retrying for 10 s: app.e2e.test.ts scenario 6 shows it).
    const overwritten = await overwriteState(b, statePath);
    const check = await bin(b, ['digest', statePath]);
    const checkJson = await ops(b, ['digest', statePath, '--json']);
    const fix = await ops(b, ['digest', statePath, '--fix']);
    const digestAfterFix = await digestItem(b, statePath);
    const recheck = await ops(b, ['digest', statePath]);
    const plan = await dir.run(['plan', '-input=false', '-lock-timeout=0s']);
    return { statePath, appliedVersion, overwritten, check, checkJson, fix, digestAfterFix, recheck, plan, durationMs: Date.now() - t0 };
  }

  // ---------------------------------------------------------------------------------
  // workspace_key_prefix = "": a workspace's state is <workspace>/<key>. A stale lock in
  // it, found by `locks`, its history by `history --workspace`, and removed by `unlock`
  // with the Path Terraform prints; the tool's backend file names another key, so the key
  // is passed and the tool says where each came from.

  interface Prefixless {
    readonly statePath: string;
    readonly workspaces: ProcessResult;
    readonly holder: KilledHolder;
    readonly blocked: ProcessResult;
    readonly printedPath?: string;
    readonly printedId?: string;
    readonly list: ToolRun;
    readonly history: ToolRun;
    readonly unlock: ToolRun;
    readonly planAfter: ProcessResult;
    readonly durationMs: number;
  }

  async function prefixlessScenario(b: CliBackend, key: string, workspace: string): Promise<Prefixless> {
    const t0 = Date.now();
    const statePath = `${workspace}/${key}`;
    const [victim, rescuer] = runners(b, 'cli-prefixless', ['victim', 'rescuer'], [`key=${key}`, 'workspace_key_prefix=']);
    await Promise.all([victim, rescuer].map(async (d) => must(await d.init())));
    must(await victim.run(['workspace', 'new', workspace]));
    must(await victim.apply({ run: 'in-workspace' }));
    must(await rescuer.run(['workspace', 'select', workspace]));
    const workspaces = must(await rescuer.run(['workspace', 'list']));
    const holder = await killWhileLocked(b, statePath, victim);
    const blocked = await rescuer.run(['plan', '-input=false', '-lock-timeout=0s']);
    const printed = printedLockInfo(blocked.output);
    // The tool's backend file: the stack's, with the empty prefix (its key is the stack's, not `key`).
    const file = path.join(b.root, 'prefixless-backend.hcl');
    fs.writeFileSync(file, `${b.backendConfig.replace(/^workspace_key_prefix\s*=.*\n/m, '')}workspace_key_prefix = ""\n`);
    const tool = (argv: readonly string[]) => tfstateOps([...argv, '--backend-config', file], { endpoint: moto.endpoint });
    const list = await tool(['locks', '--json']);
    const history = await tool(['history', key, '--workspace', workspace, '--json']);
    const unlock = await tfstateOpsBin(
      ['unlock', printed?.Path ?? 'no-path-printed', '--id', printed?.ID ?? 'no-id-printed', '--backend-config', file], moto.endpoint);
    const planAfter = await rescuer.run(['plan', '-input=false', '-lock-timeout=0s']);
    return {
      statePath, workspaces, holder, blocked, printedPath: printed?.Path, printedId: printed?.ID, list, history, unlock, planAfter,
      durationMs: Date.now() - t0,
    };
  }

  // ---------------------------------------------------------------------------------

  let staleDynamodb: Promise<Stale>;
  let prefixless: Promise<Prefixless>;
  let staleLockfile: Promise<Stale>;
  let live: Promise<Live>;
  let restoreDynamodb: Promise<Restore>;
  let restoreLockfile: Promise<Restore>;
  let digest: Promise<Digest>;

  beforeAll(async () => {
    const t0 = Date.now();
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-cli-'));
    const starting = startMotoServer();
    // Let moto's process start before the synthesis below takes this thread.
    await new Promise((r) => setTimeout(r, 100));
    const app = new App();
    const stacks = [
      new TerraformStateBackendStack(app, DEFAULT_STACK),
      new TerraformStateBackendStack(app, LOCKFILE_STACK, {
        backend: {
          locking: LockingMode.S3_LOCKFILE,
          encryption: StateEncryption.KMS,
          bucketName: 'e2e-cli-lockfile',
          discoveryPrefix: '/e2e/cli-lockfile/',
        },
      }),
    ];
    const assembly = app.synth();
    templates = Object.fromEntries(stacks.map((s) => [s.stackName, assembly.getStackByName(s.stackName).template]));
    timings.synth = Date.now() - t0;
    moto = await starting;
    timings.motoStart = Date.now() - t0;
    aws = emulatorClients(moto.endpoint);

    const t1 = Date.now();
    await Promise.all(stacks.map((s) => aws.cfn.send(new CreateStackCommand({
      StackName: s.stackName, TemplateBody: JSON.stringify(templates[s.stackName]),
    }))));
    for (;;) {
      const all = (await aws.cfn.send(new DescribeStacksCommand({}))).Stacks ?? [];
      const failed = all.find((s) => /FAILED|ROLLBACK/.test(s.StackStatus ?? ''));
      if (failed) throw new Error(`moto could not create ${failed.StackName}: ${failed.StackStatus} ${failed.StackStatusReason ?? ''}\n${moto.log().slice(-3000)}`);
      if (all.length === stacks.length && all.every((s) => s.StackStatus === 'CREATE_COMPLETE')) break;
      if (Date.now() - t1 > 60_000) throw new Error(`the stacks were not created within 60 s: ${all.map((s) => `${s.StackName} ${s.StackStatus}`).join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const backendOf = async (stack: TerraformStateBackendStack, label: string): Promise<CliBackend> => {
      const discovery = stack.backend.discoveryPrefix!;
      const params = await discoveryParameters(aws.ssm, discovery);
      await aws.s3.send(new PutBucketVersioningCommand({ Bucket: params.bucket, VersioningConfiguration: { Status: 'Enabled' } }));
      return {
        label,
        bucket: params.bucket,
        table: params['lock-table'],
        lockfile: stack.backend.locking !== LockingMode.DYNAMODB,
        s3: aws.s3,
        ddb: aws.ddb,
        root,
        backendConfig: params['backend-config'],
        emulatorConfig: emulatorBackendConfig({ s3: moto.endpoint, dynamodb: moto.endpoint, sts: moto.endpoint }),
        discovery,
        kmsKeyArn: params['kms-key-arn'],
      };
    };
    [dynamodb, lockfile] = await Promise.all([backendOf(stacks[0], 'ddb'), backendOf(stacks[1], 'lockfile')]);
    timings.deploy = Date.now() - t1;

    // Each scenario works on its own state key; they run side by side.
    staleDynamodb = runs.begin('12a-stale-dynamodb', staleScenario(dynamodb, 'stale/terraform.tfstate', 'bin'));
    live = runs.begin('12b-live-dynamodb', liveScenario(dynamodb, 'live/terraform.tfstate'));
    restoreDynamodb = runs.begin('12c-restore-dynamodb', restoreScenario(dynamodb, 'restore/terraform.tfstate'));
    digest = runs.begin('12d-digest-dynamodb', digestScenario(dynamodb, 'digest/terraform.tfstate'));
    staleLockfile = runs.begin('12e-stale-lockfile', staleScenario(lockfile, 'stale/terraform.tfstate', 'main'));
    restoreLockfile = runs.begin('12f-restore-lockfile', restoreScenario(lockfile, 'restore/terraform.tfstate'));
    prefixless = runs.begin('12h-prefixless-dynamodb', prefixlessScenario(dynamodb, 'prefixless/terraform.tfstate', 'staging'));
  }, 120_000);

  afterAll(() => tearDown('cli.e2e.test.ts', { runs, clients: [aws], moto, root, timings }), 60_000);

  test('12. the backends: published by the stacks as their constructs configure them; the templates ask for the versioning the test turns on', () => {
    for (const stack of [DEFAULT_STACK, LOCKFILE_STACK]) {
      const buckets = Object.values(templates[stack].Resources).filter((r) => r.Type === 'AWS::S3::Bucket' && r.Properties?.BucketName !== undefined);
      expect(buckets.map((r) => r.Properties!.VersioningConfiguration)).toContainEqual({ Status: 'Enabled' });
    }
    expect(dynamodb).toMatchObject({ table: 'terraform-lock', lockfile: false, discovery: '/terraform/backend/' });
    expect(dynamodb.backendConfig).toContain('dynamodb_table = "terraform-lock"');
    expect(lockfile).toMatchObject({ bucket: 'e2e-cli-lockfile', table: undefined, lockfile: true, kmsKeyArn: expect.stringMatching(/^arn:aws:kms:/) });
    expect(lockfile.backendConfig).toContain('use_lockfile = true');
    expect(lockfile.backendConfig).toContain(`kms_key_id   = "${lockfile.kmsKeyArn}"`);
  });

  test('12a. DYNAMODB, the real command: a SIGKILLed terraform leaves a lock; locks lists it with its age; --older-than filters; a wrong ID is refused; the right one clears it; plan runs', async () => {
    const r = await staleDynamodb;
    expect(r.list.via).toBe('bin');
    expectStale(r, dynamodb, 'dynamodb');
  });

  test('12b. DYNAMODB: locks shows the lock of a live apply; unlock without its ID (none, or a wrong one) cannot remove it; the apply ends normally', async () => {
    const r = await live;
    const lock = r.held.item!;
    const listed = listedLocks(r.list, r.statePath);
    expect(listed).toEqual([expect.objectContaining({ kind: 'dynamodb', id: lock.ID, operation: 'OperationTypeApply', who: lock.Who, version: lock.Version })]);
    expect(r.noId.code).toBe(2);
    expect(r.noId.stderr).toContain('tfstate-ops: unlock needs --id with the ID of the lock to remove');
    expect(r.wrongId.code).toBe(3);
    expect(r.wrongId.stderr).toContain(`lock ID ${WRONG_ID} does not match the lock on ${r.statePath}; nothing was removed`);
    expect(r.stillHeld.item?.ID).toBe(lock.ID);
    must(r.holder);
    expect(r.holder.output).toContain('Apply complete! Resources: 1 added, 0 changed, 0 destroyed.');
    expect(r.after).toEqual({ item: undefined, file: undefined });
  });

  test('12c. DYNAMODB: history lists both applies\' versions with their serials; restore of the first under Terraform\'s lock; state list and plan read it; an apply during a restore waits for it', async () => {
    expectRestore(await restoreDynamodb, dynamodb);
  });

  test('12d. DYNAMODB: a state overwritten behind Terraform\'s back: digest reports the mismatch and the version the digest belongs to; --fix repairs it; plan runs', async () => {
    const r = await digest;
    const { overwritten: o } = r;
    expect(r.check.via).toBe('bin');
    expect(r.check.code).toBe(5);
    expect(r.check.stdout).toContain(`state object  MD5 ${o.md5}`);
    expect(r.check.stdout).toContain(`digest item   MD5 ${o.stored}  LockID "${dynamodb.bucket}/${r.statePath}-md5" in table terraform-lock`);
    expect(r.check.stdout).toContain('MISMATCH: Terraform refuses this state ("state data in S3 does not have the expected content").');
    expect(r.check.stdout).toContain(`The digest is the MD5 of version ${r.appliedVersion} `);
    expect(r.check.stdout).toContain(`If the current object is the state you want: tfstate-ops digest ${r.statePath} --fix --discovery ${dynamodb.discovery}`);
    expect(JSON.parse(r.checkJson.stdout)).toMatchObject({
      status: 'mismatch', state: { md5: o.md5 }, digest: { md5: o.stored }, digestVersion: { versionId: r.appliedVersion },
    });
    expect(r.checkJson.code).toBe(5);
    mustExit(r.fix);
    expect(r.fix.stdout).toMatch(new RegExp(`Fixed: the digest is now ${o.md5} \\(the state object's MD5\\), written under lock [0-9a-f-]{36}\\.`));
    expect(r.digestAfterFix).toBe(o.md5);
    mustExit(r.recheck);
    expect(r.recheck.stdout).toContain('The digest matches the state object: Terraform reads this state.');
    must(r.plan);
    // No 10 s of retries: the digest matched at once.
    expect(r.plan.endedAt - r.plan.startedAt).toBeLessThan(10_000);
  });

  test('12e. S3_LOCKFILE: the same for a .tflock: locks lists it; a wrong ID is refused; the right one clears it; plan runs', async () => {
    expectStale(await staleLockfile, lockfile, 'lockfile');
  });

  test('12f. S3_LOCKFILE: restore takes the lock file (Terraform fails with 412 naming the tool), writes with the stack\'s KMS key; an apply during a restore waits for it', async () => {
    expectRestore(await restoreLockfile, lockfile);
  });

  test('12h. DYNAMODB, workspace_key_prefix = "": Terraform keeps the workspace at <workspace>/<key>; locks, history --workspace and unlock with Terraform\'s printed Path find it', async () => {
    const r = await prefixless;
    const lock = r.holder.left.item!;
    // Terraform: the workspace's state and lock under <workspace>/<key>, no prefix; it lists the workspace.
    expect(lock).toMatchObject({ Path: `${dynamodb.bucket}/${r.statePath}` });
    expect(r.workspaces.stdout).toMatch(/^\* staging$/m);
    expect(r.blocked.code).toBe(1);
    expect(r.printedPath).toBe(`${dynamodb.bucket}/${r.statePath}`);
    expect(r.printedId).toBe(lock.ID);
    // locks lists it, saying where it looked.
    expect(listedLocks(r.list, r.statePath)).toEqual([expect.objectContaining({ kind: 'dynamodb', id: lock.ID })]);
    expect(JSON.parse(r.list.stdout).searched).toEqual([{ kind: 'dynamodb', table: dynamodb.table }]);
    // history --workspace: the versions of <workspace>/<key>, the state named with where its key and workspace came from.
    const history = JSON.parse(mustExit(r.history).stdout) as { statePath: string; versions: HistoryVersion[] };
    expect(history.statePath).toBe(r.statePath);
    // `workspace new` wrote the workspace's first (empty) state, the applies the others.
    expect(history.versions.length).toBeGreaterThanOrEqual(2);
    expect(history.versions[0].current).toBe(true);
    expect(r.history.stderr).toContain(`tfstate-ops: state s3://${dynamodb.bucket}/${r.statePath} `
      + '(key: the argument, workspace staging from --workspace under workspace_key_prefix "")');
    // unlock with the Path Terraform printed: the bucket name dropped, and said so; the lock removed; plan runs.
    expect(r.unlock.via).toBe('bin');
    mustExit(r.unlock);
    expect(r.unlock.stderr).toContain(`tfstate-ops: state s3://${dynamodb.bucket}/${r.statePath} (the argument without "${dynamodb.bucket}/": `
      + 'Terraform\'s lock Path is <bucket>/<state path>)');
    expect(r.unlock.stdout).toContain(`Removed lock ${lock.ID} on ${r.statePath}`);
    expect(r.unlock.stdout).not.toContain('.tflock');
    must(r.planAfter);
  });

  test('12g. S3_LOCKFILE: digest says there is no digest without a lock table (exit 2)', async () => {
    const r = await ops(lockfile, ['digest', 'restore/terraform.tfstate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('digest needs the lock table');
  });
});
