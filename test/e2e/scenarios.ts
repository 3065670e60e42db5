/**
 * The end-to-end scenarios that more than one test file runs, and the AWS-side
 * inspection they share. Each scenario drives the real Terraform binary and
 * returns what it observed; the test files assert on it.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import { E2E_REGION } from '../support/cdk-cli';
import { MotoServer } from '../support/moto-server';
import { killAll, ProcessResult, TrackedProcess } from '../support/processes';
import { describeRun, printedLockInfo, TerraformDir } from '../support/terraform';

/** Terraform's LockInfo as it is stored (the lock item's `Info`, the `.tflock` body). */
export interface StoredLockInfo {
  readonly ID: string;
  readonly Operation: string;
  readonly Info: string;
  readonly Who: string;
  readonly Version: string;
  readonly Created: string;
  readonly Path: string;
}

/** A backend that the scenarios run against, and how to look at it. */
export interface Backend {
  /** For names of working directories. */
  readonly label: string;
  readonly bucket: string;
  /** The lock table, in the table modes. */
  readonly table?: string;
  /** `use_lockfile = true`. */
  readonly lockfile: boolean;
  readonly s3: S3Client;
  /** The DynamoDB the lock table is in (moto or DynamoDB Local). */
  readonly ddb?: DynamoDBClient;
  /** A temporary folder for the working directories. */
  readonly root: string;
  /** The emitted partial configuration (the first -backend-config file). */
  readonly backendConfig: string;
  /** The emulator overrides (the second -backend-config file). */
  readonly emulatorConfig: string;
  /** Credentials Terraform signs with (DynamoDB Local keeps one database per access key). */
  readonly accessKeyId?: string;
}

export const md5 = (s: string | Buffer) => createHash('md5').update(s).digest('hex');

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function isNotFound(e: unknown): boolean {
  const name = (e as { name?: string }).name;
  const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return name === 'NoSuchKey' || name === 'NotFound' || status === 404;
}

/** The lock item `<bucket>/<state path>`, parsed. */
export async function lockItem(b: Backend, statePath: string): Promise<StoredLockInfo | undefined> {
  if (!b.table || !b.ddb) return undefined;
  const out = await b.ddb.send(new GetItemCommand({ TableName: b.table, Key: { LockID: { S: `${b.bucket}/${statePath}` } }, ConsistentRead: true }));
  const info = out.Item?.Info?.S;
  return info === undefined ? undefined : JSON.parse(info) as StoredLockInfo;
}

/** The digest item `<bucket>/<state path>-md5`. */
export async function digestItem(b: Backend, statePath: string): Promise<string | undefined> {
  if (!b.table || !b.ddb) return undefined;
  const out = await b.ddb.send(new GetItemCommand({ TableName: b.table, Key: { LockID: { S: `${b.bucket}/${statePath}-md5` } }, ConsistentRead: true }));
  return out.Item?.Digest?.S;
}

/** An object of the bucket with its encryption, or undefined when there is none. */
export async function getObject(b: Backend, key: string): Promise<{ body: string; sse?: string; kmsKeyId?: string } | undefined> {
  try {
    const out = await b.s3.send(new GetObjectCommand({ Bucket: b.bucket, Key: key }));
    return { body: await out.Body!.transformToString(), sse: out.ServerSideEncryption, kmsKeyId: out.SSEKMSKeyId };
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** Whether the object exists (HeadObject). */
export async function objectExists(b: Backend, key: string): Promise<boolean> {
  try {
    await b.s3.send(new HeadObjectCommand({ Bucket: b.bucket, Key: key }));
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

/** The lock file `<state path>.tflock`, parsed. */
export async function lockFile(b: Backend, statePath: string): Promise<StoredLockInfo | undefined> {
  const obj = await getObject(b, `${statePath}.tflock`);
  return obj === undefined ? undefined : JSON.parse(obj.body) as StoredLockInfo;
}

/** Both kinds of lock on one state (each undefined when absent or not configured). */
export interface Locks {
  readonly item?: StoredLockInfo;
  readonly file?: StoredLockInfo;
}

export async function locks(b: Backend, statePath: string): Promise<Locks> {
  const [item, file] = await Promise.all([lockItem(b, statePath), lockFile(b, statePath)]);
  return { item, file };
}

/**
 * Polls until every lock the backend is configured for is held on the state, while
 * `holder` runs. Fails with the holder's output if it ends first.
 */
export async function waitForLocks(b: Backend, statePath: string, holder: TrackedProcess, timeoutMs = 30_000): Promise<Locks> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const l = await locks(b, statePath);
    if ((!b.table || l.item) && (!b.lockfile || l.file)) return l;
    if (holder.exited()) {
      throw new Error(`the lock on ${statePath} never appeared: the holder ended first\n${describeRun(await holder.done)}`);
    }
    if (Date.now() > deadline) {
      holder.kill('SIGKILL');
      throw new Error(`the lock on ${statePath} did not appear within ${timeoutMs} ms\n${describeRun(await holder.done)}`);
    }
    await sleep(100);
  }
}

/**
 * In the log of a Terraform run with `TF_LOG=DEBUG`: a lock attempt refused because the
 * lock is held (DynamoDB's failed condition, or S3's 412 on the lock file). Terraform
 * 1.11's s3 backend logs "Attempting to lock remote state", then the failed request.
 */
export const REFUSED_LOCK_ATTEMPT = /Attempting to lock remote state[\s\S]*?request failed with unretryable error[^\n]*(ConditionalCheckFailedException|StatusCode: 412)/;

/** Go's time.Time as Terraform prints it: `2026-11-26 19:18:52.653327109 +0000 UTC`. */
function printedTime(s: string): number {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(\.\d+)? \+0000 UTC$/.exec(s);
  return m ? Date.parse(`${m[1]}T${m[2]}${(m[3] ?? '').slice(0, 4)}Z`) : NaN;
}

/**
 * Why a run that should have succeeded failed, when it is the emulator's known fault
 * (TRAPS.md 11): under load moto sometimes loses its answer to a request it did
 * process; the SDK retries, and a retried conditional lock write then meets the lock
 * this very run just took. Terraform reports its own lock as the holder (and, with a
 * lock timeout, waits for itself until the timeout). Recognised when the printed
 * holder is none of the locks the test knows other runs to hold (`foreignIds`) and was
 * created while this run ran.
 */
export function selfLockDiagnosis(r: ProcessResult, foreignIds: readonly string[] = []): string | undefined {
  if (!r.output.includes('Error acquiring the state lock')) return undefined;
  const holder = printedLockInfo(r.output);
  if (!holder || foreignIds.includes(holder.ID)) return undefined;
  const created = printedTime(holder.Created);
  if (!(created >= r.startedAt - 1000 && created <= r.endedAt + 1000)) return undefined;
  return `The holder (ID ${holder.ID}, ${holder.Operation}, created ${holder.Created}) is no lock another run of this test took, and ` +
    'was created while this run ran: Terraform met its own lock. moto lost its answer to the conditional lock write, the SDK ' +
    'retried, and the retry found the lock the first attempt had taken (TRAPS.md 11). An emulator fault under load, not a ' +
    'locking defect of the construct.';
}

/** Throws with the output (and a self-lock diagnosis) unless the run exited 0. */
export function must(r: ProcessResult, foreignIds: readonly string[] = []): ProcessResult {
  if (r.code === 0) return r;
  const diagnosis = selfLockDiagnosis(r, foreignIds);
  throw new Error(`${diagnosis ? `${diagnosis}\n\n` : ''}${describeRun(r)}`);
}

/**
 * moto's 5xx answers and tracebacks during a file's run, printed to stderr (the
 * evidence when a run met its own lock); nothing when there were none.
 */
export function reportMotoTrouble(file: string, log: string): void {
  const trouble = log.split('\n').filter((l) => /" 5\d\d -|Traceback/.test(l));
  if (trouble.length > 0) process.stderr.write(`${file}: moto_server answered with errors:\n${trouble.slice(0, 20).join('\n')}\n`);
}

/** Working directories for one state, each a separate runner. */
export function runners(b: Backend, scenario: string, names: readonly string[], settings: readonly string[] = []): TerraformDir[] {
  return names.map((n) => TerraformDir.create({
    root: b.root,
    name: `${b.label}-${scenario}-${n}`,
    backendConfig: b.backendConfig,
    emulatorConfig: b.emulatorConfig,
    backendSettings: settings,
    accessKeyId: b.accessKeyId,
  }));
}

/** What the contention scenario saw. */
export interface Contention {
  readonly statePath: string;
  /** The locks while the slow apply ran. */
  readonly held: Locks;
  /** The slow apply (a `local-exec` sleep of HOLD_SECONDS). */
  readonly holder: ProcessResult;
  /** `plan -lock-timeout=0s` started while the lock was held. */
  readonly late: ProcessResult;
  /** `apply -lock-timeout=60s` started while the lock was held. */
  readonly waiter: ProcessResult;
  /** The locks after all three ended. */
  readonly after: Locks;
  /** The state after all three ended. */
  readonly finalState?: string;
  readonly durationMs: number;
}

/** How long the slow apply holds the lock: long enough for a second Terraform to start and try, on a loaded machine. */
export const HOLD_SECONDS = 5;

/**
 * Contention: while a slow apply holds the lock, a run with `-lock-timeout=0s` fails
 * naming the holder, and a run with `-lock-timeout=60s` waits and then applies.
 */
export async function contention(b: Backend, statePath: string, settings: readonly string[] = []): Promise<Contention> {
  const t0 = Date.now();
  const [holderDir, lateDir, waiterDir] = runners(b, 'contention', ['holder', 'late', 'waiter'], settings);
  await Promise.all([holderDir, lateDir, waiterDir].map(async (d) => must(await d.init())));
  const holderProcess = holderDir.startApply({ run: 'holder', sleep: HOLD_SECONDS });
  const held = await waitForLocks(b, statePath, holderProcess);
  const [late, waiter] = await Promise.all([
    lateDir.run(['plan', '-input=false', '-lock-timeout=0s']),
    waiterDir.apply({ run: 'waiter' }, ['-lock-timeout=60s']),
  ]);
  const holder = await holderProcess.done;
  const after = await locks(b, statePath);
  const finalState = (await getObject(b, statePath))?.body;
  return { statePath, held, holder, late, waiter, after, finalState, durationMs: Date.now() - t0 };
}

/** What the stale-lock scenario saw. */
export interface StaleLock {
  readonly statePath: string;
  readonly held: Locks;
  /** The apply killed with SIGKILL while it held the lock. */
  readonly killed: ProcessResult;
  /** The locks after the kill. */
  readonly left: Locks;
  /** `plan -lock-timeout=0s` after the kill. */
  readonly blocked: ProcessResult;
  /** The lock ID read from `blocked`'s "Error acquiring the state lock" output. */
  readonly printedId?: string;
  /** `force-unlock -force <printedId>`. */
  readonly unlock: ProcessResult;
  readonly cleared: Locks;
  /** `plan -lock-timeout=0s` after the force-unlock. */
  readonly planAfter: ProcessResult;
  readonly durationMs: number;
}

/** What a Terraform killed while it held the lock left behind. */
export interface KilledHolder {
  /** The locks while it ran. */
  readonly held: Locks;
  /** The run, killed with SIGKILL. */
  readonly killed: ProcessResult;
  /** The locks after the kill. */
  readonly left: Locks;
}

/**
 * Starts an apply in `dir` (initialised) that holds the lock on `statePath` until it is
 * killed, waits until it holds every lock the backend is configured for, and kills it
 * with SIGKILL (a CI runner that died): Terraform cannot release its lock.
 */
export async function killWhileLocked(b: Backend, statePath: string, dir: TerraformDir): Promise<KilledHolder> {
  const victim = dir.startApply({ run: 'victim', sleep: 60 });
  const held = await waitForLocks(b, statePath, victim);
  victim.kill('SIGKILL');
  const killed = await victim.done;
  const left = await locks(b, statePath);
  return { held, killed, left };
}

/**
 * A stale lock: a Terraform killed with SIGKILL while it holds the lock leaves the
 * lock; the next run fails on it; `force-unlock -force` with the ID from that error
 * clears it, and runs work again.
 */
export async function staleLock(b: Backend, statePath: string, settings: readonly string[] = []): Promise<StaleLock> {
  const t0 = Date.now();
  const [victimDir, rescuerDir] = runners(b, 'stale', ['victim', 'rescuer'], settings);
  await Promise.all([victimDir, rescuerDir].map(async (d) => must(await d.init())));
  const { held, killed, left } = await killWhileLocked(b, statePath, victimDir);
  const blocked = await rescuerDir.run(['plan', '-input=false', '-lock-timeout=0s']);
  const printedId = printedLockInfo(blocked.output)?.ID;
  const unlock = await rescuerDir.run(['force-unlock', '-force', printedId ?? 'no-id-printed']);
  const cleared = await locks(b, statePath);
  const planAfter = await rescuerDir.run(['plan', '-input=false', '-lock-timeout=0s']);
  return { statePath, held, killed, left, blocked, printedId, unlock, cleared, planAfter, durationMs: Date.now() - t0 };
}

/** A state overwritten behind Terraform's back, and the digest Terraform had stored for it. */
export interface Overwritten {
  /** The digest item before (Terraform's MD5 of the state it wrote). */
  readonly stored?: string;
  /** What the state object holds now. */
  readonly body: string;
  readonly md5: string;
}

/**
 * Someone writes the state without Terraform (and so without updating the digest item):
 * the same state with the next serial. Terraform then refuses it with "state data in S3
 * does not have the expected content".
 */
export async function overwriteState(b: Backend, statePath: string): Promise<Overwritten> {
  const before = await getObject(b, statePath);
  if (!before) throw new Error(`no state at ${statePath} to overwrite`);
  const stored = await digestItem(b, statePath);
  const state = JSON.parse(before.body) as { serial: number };
  const body = `${JSON.stringify({ ...state, serial: state.serial + 1 }, undefined, 2)}\n`;
  await b.s3.send(new PutObjectCommand({ Bucket: b.bucket, Key: statePath, Body: body }));
  return { stored, body, md5: md5(body) };
}

/** The `run` value recorded in a state file for MAIN_TF's resource `terraform_data.this`. */
export function recordedRun(state: string | undefined): string | undefined {
  if (state === undefined) return undefined;
  type Instance = { attributes: { triggers_replace?: { value?: string } } };
  const parsed = JSON.parse(state) as { resources?: Array<{ type: string; name: string; instances: Instance[] }> };
  const resource = parsed.resources?.find((r) => r.type === 'terraform_data' && r.name === 'this');
  return resource?.instances[0]?.attributes.triggers_replace?.value;
}

/** SDK clients for the emulator at `endpoint` (one region, throw-away credentials). */
export function emulatorClients(endpoint: string, accessKeyId = 'e2e') {
  const common = { endpoint, region: E2E_REGION, credentials: { accessKeyId, secretAccessKey: 'e2e' } };
  return {
    s3: new S3Client({ ...common, forcePathStyle: true }),
    ddb: new DynamoDBClient(common),
    ssm: new SSMClient(common),
    cfn: new CloudFormationClient(common),
    destroy() {
      this.s3.destroy();
      this.ddb.destroy();
      this.ssm.destroy();
      this.cfn.destroy();
    },
  };
}

export type EmulatorClients = ReturnType<typeof emulatorClients>;

/** The discovery parameters under `prefix`, by their name after it. */
export async function discoveryParameters(ssm: SSMClient, prefix: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let next: string | undefined;
  do {
    const page = await ssm.send(new GetParametersByPathCommand({ Path: prefix, Recursive: true, NextToken: next }));
    for (const p of page.Parameters ?? []) out[p.Name!.slice(prefix.length)] = p.Value!;
    next = page.NextToken;
  } while (next);
  return out;
}

/** Scenario wall times, written to $E2E_TIMINGS_FILE (one JSON line per file) when it is set. */
/** What an e2e file started, for {@link tearDown}; any of it may be missing when beforeAll failed early. */
export interface E2eFileResources {
  readonly runs: ScenarioRuns;
  readonly clients?: ReadonlyArray<{ destroy(): void } | undefined>;
  readonly moto?: MotoServer;
  /** The file's temporary folder. */
  readonly root?: string;
  readonly timings: Record<string, number>;
}

/**
 * An e2e file's afterAll: waits for its scenarios, kills every process the harness
 * started, stops moto_server (reporting any 5xx it answered), removes the temporary
 * folder, and writes the timings.
 */
export async function tearDown(file: string, r: E2eFileResources): Promise<void> {
  await r.runs.settled();
  await killAll();
  for (const client of r.clients ?? []) client?.destroy();
  await r.moto?.stop();
  if (r.moto) reportMotoTrouble(file, r.moto.log());
  if (r.root) fs.rmSync(r.root, { recursive: true, force: true });
  writeTimings(file, r.timings);
}

export function writeTimings(file: string, timings: Record<string, number>): void {
  const target = process.env.E2E_TIMINGS_FILE;
  if (target) fs.appendFileSync(target, `${JSON.stringify({ file, ...timings })}\n`);
}

/**
 * The scenarios of one test file, started side by side (in beforeAll) and each awaited
 * by its test, with each one's wall time for writeTimings.
 */
export class ScenarioRuns {
  /** Wall times by name: the scenarios' and any the file adds (`motoStart`, `cdkDeploy`). */
  readonly timings: Record<string, number> = {};
  private readonly started: Array<Promise<unknown>> = [];

  /** Starts a scenario now; its test awaits the returned promise. */
  begin<T extends { durationMs: number }>(name: string, p: Promise<T>): Promise<T> {
    const timed = p.then((r) => {
      this.timings[name] = r.durationMs;
      return r;
    });
    this.started.push(timed.catch(() => undefined));
    return timed;
  }

  /** Resolves when every scenario started so far has ended, failed or not. */
  async settled(): Promise<void> {
    await Promise.all(this.started);
  }
}
