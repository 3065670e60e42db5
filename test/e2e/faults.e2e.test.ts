/**
 * Every tfstate-ops command that writes (`restore`, `unlock`, `digest --fix`,
 * `prune-locks --delete`) under injected faults, on each of its writes: the tool runs in
 * this process through `main(argv, io)` with the CLI's own SDK clients (its timeouts and
 * the SDK's standard retries, both shortened here), pointed at a fault-injecting proxy
 * (test/support/fault-proxy.ts) in front of one moto_server (S3 and DynamoDB), on one
 * versioned bucket and one lock table seeded directly with the SDK. Each case has a
 * state of its own and proxy rules of its own, and runs beside up to LANES - 1 others.
 *
 * The faults: a response lost after the request was processed, 503 SlowDown, 500
 * InternalError, DynamoDB's ThrottlingException, a connection reset in the middle of
 * the answer (after processing), an answer slower than the client's timeout. Once, on
 * one write: the SDK retries, and the command must complete (a retried conditional
 * write then meets its own first attempt: TRAPS 11). On every attempt of the write that
 * matters (a lock, the state, the digest, a deletion): the command must give up and leave
 * the backend as it found it. Either way it must say which (exit code and message), and
 * never leave a lock of its own, a digest that does not match the current state, a state
 * half written, or a version removed that was not meant. The backend is read directly
 * (moto, not through the proxy) after each case.
 *
 * Also here, on the same moto: `prune-locks` after locked runs of the real Terraform
 * (use_lockfile on the versioned bucket; moto's CloudFormation would not turn versioning
 * on, so the bucket is made with the SDK), while another run holds its lock.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  BatchGetItemCommand, CreateTableCommand, DynamoDBClient, PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, ListObjectVersionsCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { ClientFactory, main, sdkClientFactory, Service } from '../../cli/src';
import { Fault, FaultProxy, FaultRule, startFaultProxy } from '../support/fault-proxy';
import { MotoServer, startMotoServer } from '../support/moto-server';
import { emulatorBackendConfig, TerraformDir } from '../support/terraform';
import { describeWithTools } from '../support/tools';

const BUCKET = 'faults-state';
const TABLE = 'terraform-lock';
const REGION = 'us-east-1';
const FLAGS = ['--bucket', BUCKET, '--table', TABLE, '--lockfile', '--region', REGION, '--path-style'];
/**
 * The tool's timeouts here (its own: 5 s and 60 s): an answer held for DELAY_MS is one it
 * gave up on. moto answered these requests in tens of milliseconds in the runs here, at
 * load averages up to 11 on 2 cores (a slower answer costs an attempt).
 */
const TIMEOUTS = { connectionMs: 1000, requestMs: 500 };
const DELAY_MS = 2000;
/**
 * The SDK's standard retries, as the tool makes them (the same errors retried, as many
 * attempts as its own clients make: `attempts`, read from them), waiting 10 ms between
 * attempts instead of the exponential backoff with jitter (from a base of 50 ms, 1 s after
 * throttling), so that the cases do not spend their time waiting.
 */
const RETRY_BACKOFF_MS = 10;
const LOCK_ID = '715f2a2a-25f3-8954-68f0-52ef6df5e0ce';
const CREDENTIALS = { accessKeyId: 'e2e', secretAccessKey: 'e2e' };
/**
 * How many cases run at once (each on its own keys, with its own proxy rules). One: all
 * cases share one bucket, and moto_server 5.2.1 is not safe against concurrent requests on
 * a bucket (with four at a time, a ListObjectVersions beside other cases' writes once
 * answered moto's HTML 500 page, failing a case that was not about that request). Serial,
 * the file takes about 33 s idle.
 */
const LANES = 1;

type Command = 'restore' | 'unlock' | 'digest --fix' | 'prune-locks';

/** One write of a command: the request, as a proxy rule matches it, of the case's state `p`. */
interface Write {
  readonly name: string;
  readonly dynamodb: boolean;
  readonly rule: (p: string) => Omit<FaultRule, 'fault'>;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const s3Write = (name: string, method: string, suffix: string): Write => ({
  name, dynamodb: false, rule: (p) => ({ method, path: new RegExp(`^/${BUCKET}/${escape(p + suffix)}(\\?|$)`) }),
});
const tableWrite = (name: string, target: string, item: 'lock' | 'digest'): Write => ({
  name, dynamodb: true, rule: (p) => ({ target, when: (r) => r.body.toString().includes(`"${BUCKET}/${p}${item === 'digest' ? '-md5' : ''}"`) }),
});
const LOCK_FILE_PUT = s3Write('lock file PutObject', 'PUT', '.tflock');
const LOCK_ITEM_PUT = tableWrite('lock item PutItem', 'PutItem', 'lock');
const LOCK_ITEM_DELETE = tableWrite('lock item DeleteItem', 'DeleteItem', 'lock');
const LOCK_FILE_DELETE = s3Write('lock file DeleteObject', 'DELETE', '.tflock');
const STATE_PUT = s3Write('state PutObject', 'PUT', '');
const DIGEST_PUT = tableWrite('digest PutItem', 'PutItem', 'digest');
const DELETE_OBJECTS = (n: number): Write => ({
  name: `DeleteObjects #${n}`, dynamodb: false,
  rule: (p) => ({ method: 'POST', path: /\?delete/, nth: n, when: (r) => r.body.toString().includes(`<Key>${path.dirname(p)}/`) }),
});

/** Each command's writes, in the order it makes them. */
const WRITES: Record<Command, Write[]> = {
  'restore': [LOCK_FILE_PUT, LOCK_ITEM_PUT, STATE_PUT, DIGEST_PUT, LOCK_ITEM_DELETE, LOCK_FILE_DELETE],
  'unlock': [LOCK_ITEM_DELETE, LOCK_FILE_DELETE],
  'digest --fix': [LOCK_FILE_PUT, LOCK_ITEM_PUT, DIGEST_PUT, LOCK_ITEM_DELETE, LOCK_FILE_DELETE],
  'prune-locks': [DELETE_OBJECTS(1), DELETE_OBJECTS(2)],
};

const S3_FAULTS: Fault[] = ['lose-response', 'slow-down-503', 'internal-error-500', 'reset-mid-body', 'delay'];
const TABLE_FAULTS: Fault[] = ['lose-response', 'internal-error-500', 'throttle', 'reset-mid-body', 'delay'];

/** On every attempt: the writes after which nothing the command did may remain. */
const PERSISTENT: Array<[Command, Write, Fault]> = [
  ['restore', LOCK_FILE_PUT, 'slow-down-503'],
  ['restore', LOCK_ITEM_PUT, 'throttle'],
  ['restore', STATE_PUT, 'internal-error-500'],
  ['restore', DIGEST_PUT, 'internal-error-500'],
  ['digest --fix', DIGEST_PUT, 'throttle'],
  ['unlock', LOCK_ITEM_DELETE, 'internal-error-500'],
  ['prune-locks', DELETE_OBJECTS(1), 'slow-down-503'],
];

interface Case {
  readonly command: Command;
  readonly write: Write;
  readonly fault: Fault;
  readonly persistent: boolean;
}

const CASES: Case[] = [
  ...(Object.keys(WRITES) as Command[]).flatMap((command) => WRITES[command].flatMap((write) =>
    (write.dynamodb ? TABLE_FAULTS : S3_FAULTS).map((fault) => ({ command, write, fault, persistent: false })))),
  ...PERSISTENT.map(([command, write, fault]) => ({ command, write, fault, persistent: true })),
];

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
const stateJson = (serial: number, value: string) => `${JSON.stringify({
  version: 4, terraform_version: '1.11.4', serial, lineage: 'eef36893-471b-48ed-1081-8aa817ba6302',
  outputs: { v: { value, type: 'string' } }, resources: [], check_results: null,
}, null, 2)}\n`;
const lockInfo = (p: string) => JSON.stringify({
  ID: LOCK_ID, Operation: 'OperationTypeApply', Info: '', Who: 'alice@laptop', Version: '1.11.4', Created: '2026-12-03T09:59:30.123456789Z', Path: `${BUCKET}/${p}`,
});

describeWithTools(['moto_server'], 'tfstate-ops writes under injected faults (moto_server behind a fault proxy)', () => {
  let moto: MotoServer;
  let proxy: FaultProxy;
  let s3: S3Client;
  let dynamodb: DynamoDBClient;
  let tmp: string;
  let attempts: Partial<Record<Service, number>>;
  const outcomes = { completed: 0, asFound: 0 };

  beforeAll(async () => {
    // The CLI's clients take credentials from the SDK's chain, that is from this (jest's, per file) environment.
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'e2e', AWS_SECRET_ACCESS_KEY: 'e2e', AWS_EC2_METADATA_DISABLED: 'true' });
    delete process.env.AWS_PROFILE;
    moto = await startMotoServer();
    proxy = await startFaultProxy(moto.endpoint);
    s3 = new S3Client({ endpoint: moto.endpoint, region: REGION, forcePathStyle: true, credentials: CREDENTIALS });
    dynamodb = new DynamoDBClient({ endpoint: moto.endpoint, region: REGION, credentials: CREDENTIALS });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled' } }));
    await dynamodb.send(new CreateTableCommand({
      TableName: TABLE, BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'LockID', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'LockID', KeyType: 'HASH' }],
    }));
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faults-e2e-'));
    // The attempts the tool's own clients make (the SDK's defaults: S3 3, DynamoDB 4).
    const own = sdkClientFactory({ AWS_REGION: REGION });
    const [s3Own, dynamodbOwn] = [own.s3({}), own.dynamodb({})];
    attempts = { S3: await s3Own.config.maxAttempts(), DYNAMODB: await dynamodbOwn.config.maxAttempts() };
    [s3Own, dynamodbOwn].forEach((c) => c.destroy());
  }, 60_000);

  afterAll(async () => {
    s3?.destroy();
    dynamodb?.destroy();
    await proxy?.stop();
    await moto?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** The tool, in this process, through the proxy, with the CLI's own SDK clients. */
  async function tool(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const made: Array<{ destroy(): void }> = [];
    const sdk = sdkClientFactory({ AWS_ENDPOINT_URL: proxy.endpoint, AWS_REGION: REGION }, TIMEOUTS, (service) => {
      if (attempts[service] === undefined) throw new Error(`the tool's attempts for ${service} were not read`);
      return new ConfiguredRetryStrategy(attempts[service], RETRY_BACKOFF_MS);
    });
    const clients: ClientFactory = {
      s3: (o) => { const c = sdk.s3(o); made.push(c); return c; },
      dynamodb: (o) => { const c = sdk.dynamodb(o); made.push(c); return c; },
      ssm: (o) => { const c = sdk.ssm(o); made.push(c); return c; },
      sts: (o) => { const c = sdk.sts(o); made.push(c); return c; },
      organizations: (o) => { const c = sdk.organizations(o); made.push(c); return c; },
    };
    let out = '';
    let err = '';
    try {
      const code = await main(argv, {
        stdout: (t) => { out += t; }, stderr: (t) => { err += t; }, env: {}, clients, who: 'oncall@faults', now: () => new Date(),
      });
      return { code, out, err };
    } finally {
      made.forEach((c) => c.destroy());
    }
  }

  async function versions(prefix: string) {
    const out = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: prefix }));
    return [...(out.Versions ?? []).map((v) => ({ key: v.Key!, id: v.VersionId!, marker: false, latest: v.IsLatest })),
      ...(out.DeleteMarkers ?? []).map((m) => ({ key: m.Key!, id: m.VersionId!, marker: true, latest: m.IsLatest }))]
      .sort((a, b) => (a.key + a.id < b.key + b.id ? -1 : 1));
  }
  async function current(key: string): Promise<Buffer | undefined> {
    try {
      const o = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      return Buffer.from(await o.Body!.transformToByteArray());
    } catch (e) {
      if ((e as Error).name === 'NoSuchKey') return undefined;
      throw e;
    }
  }
  /** The lock table's items of these LockIDs (consistent reads, in one request), by LockID. */
  async function items(...lockIds: string[]) {
    const out = await dynamodb.send(new BatchGetItemCommand({
      RequestItems: { [TABLE]: { Keys: lockIds.map((id) => ({ LockID: { S: id } })), ConsistentRead: true } },
    }));
    if (Object.keys(out.UnprocessedKeys ?? {}).length > 0) throw new Error(`BatchGetItem left keys unread: ${JSON.stringify(out.UnprocessedKeys)}`);
    const found = new Map((out.Responses?.[TABLE] ?? []).map((i) => [i.LockID.S!, i]));
    return lockIds.map((id) => found.get(id));
  }
  async function put(key: string, body: string): Promise<string> {
    return (await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }))).VersionId!;
  }

  /** The case's backend, as the command finds it; returns its arguments. */
  async function seed(c: Case, p: string): Promise<string[]> {
    const v1 = await put(p, stateJson(1, 'one'));
    await put(p, stateJson(2, 'two'));
    await dynamodb.send(new PutItemCommand({ TableName: TABLE, Item: { LockID: { S: `${BUCKET}/${p}-md5` }, Digest: { S: md5(stateJson(2, 'two')) } } }));
    switch (c.command) {
      case 'restore':
        return ['restore', p, '--version-id', v1];
      case 'unlock':
        await put(`${p}.tflock`, lockInfo(p));
        await dynamodb.send(new PutItemCommand({ TableName: TABLE, Item: { LockID: { S: `${BUCKET}/${p}` }, Info: { S: lockInfo(p) } } }));
        return ['unlock', p, '--id', LOCK_ID];
      case 'digest --fix':
        await put(p, stateJson(3, 'by hand'));
        return ['digest', p, '--fix'];
      case 'prune-locks':
        for (let i = 0; i < 2; i++) {
          await put(`${p}.tflock`, lockInfo(p));
          await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `${p}.tflock` }));
        }
        return ['prune-locks', '--delete', '--prefix', `${path.dirname(p)}/`];
    }
  }

  /** What the assertions compare: every version under the case's prefix, the current state, the lock and digest items. */
  async function backendOf(p: string) {
    const [all, state, [lockItem, digest]] = await Promise.all([versions(`${path.dirname(p)}/`), current(p), items(`${BUCKET}/${p}`, `${BUCKET}/${p}-md5`)]);
    // The lock file is read only if its latest version is an object (a latest delete marker, or none: there is no current lock file).
    const lockFile = all.some((v) => v.key === `${p}.tflock` && v.latest && !v.marker) ? await current(`${p}.tflock`) : undefined;
    return {
      stateVersions: all.filter((v) => v.key === p).map((v) => v.id),
      lockFileVersions: all.filter((v) => v.key === `${p}.tflock`).map((v) => `${v.id}${v.marker ? ' (marker)' : ''}`),
      currentLockFile: lockFile?.toString(),
      lockItem: lockItem?.Info?.S,
      digest: digest?.Digest?.S,
      state: state?.toString(),
      stateMd5: state ? md5(state) : undefined,
    };
  }

  /** One case, seeded, run under its fault and read back: what its test asserts. */
  async function runCase(n: number, c: Case) {
    const p = `f${n}/terraform.tfstate`;
    const argv = await seed(c, p);
    const before = await backendOf(p);
    const rules = proxy.addRules([{ ...c.write.rule(p), fault: c.fault, delayMs: DELAY_MS, times: c.persistent ? Infinity : 1 }]);
    const r = await tool([...argv, ...FLAGS]);
    const injected = rules.injected.length;
    rules.remove();
    await rules.settle();
    const after = await backendOf(p);
    return { argv, before, after, r, injected };
  }

  /** The cases' runs, LANES at a time in case order, started by the first test that asks for one. */
  let runs: Array<ReturnType<typeof runCase>> | undefined;
  function run(n: number) {
    if (!runs) {
      let active = 0;
      const waiting: Array<() => void> = [];
      const inLane = <T>(f: () => Promise<T>) => new Promise<T>((resolve, reject) => {
        const start = () => {
          active++;
          f().then(resolve, reject).finally(() => { active--; waiting.shift()?.(); });
        };
        if (active < LANES) start(); else waiting.push(start);
      });
      runs = CASES.map((c, i) => inLane(() => runCase(i + 1, c)));
      // A failed run fails its own test when that test awaits it, not before as an unhandled rejection.
      runs.forEach((r) => r.catch(() => undefined));
    }
    return runs[n - 1];
  }

  test.each(CASES.map((c, i) => [i + 1, c.command, c.write.name, c.fault, c.persistent ? 'every attempt' : 'once', c] as const))(
    '%i: %s, %s: %s (%s)', async (n, _command, _write, _fault, _times, c) => {
      const { argv, before, after, r, injected } = await run(n);
      const shown = `${argv.join(' ')}: exit ${r.code}\n${r.out}${r.err}`;
      // The fault was met (a write the command makes).
      expect({ shown, injected: injected > 0 }).toEqual({ shown, injected: true });

      // Never: a lock of its own left, a digest not matching the current state, a state version or a lock-file version not meant removed.
      if (c.command !== 'unlock') {
        expect({ shown, lockItem: after.lockItem, lockFile: after.currentLockFile }).toEqual({ shown, lockItem: undefined, lockFile: undefined });
      }
      expect(after.stateVersions).toEqual(expect.arrayContaining(before.stateVersions));
      if (c.command !== 'prune-locks') expect(after.lockFileVersions).toEqual(expect.arrayContaining(before.lockFileVersions));
      if (c.command === 'restore' || c.command === 'digest --fix' || r.code === 0) {
        expect({ shown, digestMatches: after.digest === after.stateMd5 || (c.command === 'digest --fix' && r.code !== 0) })
          .toEqual({ shown, digestMatches: true });
      }

      const completed = r.code === 0;
      if (completed) {
        outcomes.completed++;
        switch (c.command) {
          case 'restore':
            expect(JSON.parse(after.state!)).toMatchObject({ serial: 3, outputs: { v: { value: 'one' } } });
            expect(r.out).toMatch(/^Restored s3:\/\//);
            break;
          case 'unlock':
            expect({ lockItem: after.lockItem, lockFile: after.currentLockFile }).toEqual({ lockItem: undefined, lockFile: undefined });
            expect(r.out).toMatch(new RegExp(`^Removed lock ${LOCK_ID}`));
            break;
          case 'digest --fix':
            expect({ state: after.state, digest: after.digest }).toEqual({ state: before.state, digest: before.stateMd5 });
            expect(r.out).toContain('Fixed: the digest is now');
            break;
          case 'prune-locks':
            expect(after.lockFileVersions).toEqual([]);
            expect(r.out).toMatch(/^Removed: 2 of 2 lock-file versions \(\d+ bytes\) and 2 of 2 delete markers/);
            break;
        }
      } else {
        outcomes.asFound++;
        // As it found it (the current state, the digest, the locks; a lock taken and released leaves a lock-file
        // version and a delete marker, as every Terraform run does, and an undone restore two state versions), and it says so.
        const found = (b: typeof before) => ({ ...b, stateVersions: undefined, lockFileVersions: c.command === 'prune-locks' ? b.lockFileVersions : undefined });
        expect({ shown, after: found(after) }).toEqual({ shown, after: found(before) });
        expect(r.code).toBe(1);
        expect(r.err).toMatch(/Nothing was (restored|removed|changed)/);
      }
      // Each fault once: the SDK's retry completes the command; on every attempt: it gives up.
      expect({ shown, completed }).toEqual({ shown, completed: !c.persistent });
    }, 30_000);

  test('the case count', () => {
    const transient = CASES.filter((c) => !c.persistent).length;
    // restore 6 writes, unlock 2, digest --fix 5, prune-locks 2 (its two DeleteObjects), each under 5 faults; 7 on every attempt.
    expect({ transient, persistent: PERSISTENT.length, all: CASES.length }).toEqual({ transient: (6 + 2 + 5 + 2) * 5, persistent: 7, all: 82 });
    expect(outcomes).toEqual({ completed: transient, asFound: PERSISTENT.length });
    process.stderr.write(`faults.e2e: ${CASES.length} fault × command cases (${transient} once, ${PERSISTENT.length} on every attempt): `
      + `${outcomes.completed} completed, ${outcomes.asFound} left the backend as found\n`);
  });

  describeWithTools(['terraform'], 'prune-locks after locked Terraform runs', () => {
    test('removes the old lock versions and delete markers; state versions and the held lock stay', async () => {
      const p = 'tf/terraform.tfstate';
      const backendConfig = `bucket = "${BUCKET}"\nkey = "${p}"\nregion = "${REGION}"\nuse_lockfile = true\n`;
      const dir = (name: string) => TerraformDir.create({
        root: tmp, name, backendConfig, emulatorConfig: emulatorBackendConfig({ s3: moto.endpoint }),
      });
      const a = dir('a');
      expect((await a.init()).code).toBe(0);
      const RUNS = 3;
      for (let i = 0; i < RUNS; i++) {
        const applied = await a.apply({ run: `run-${i}` });
        expect({ code: applied.code, output: applied.output }).toEqual({ code: 0, output: expect.any(String) });
      }
      // A run that holds its lock while prune-locks runs.
      const hold = path.join(tmp, 'release');
      const b = dir('b');
      expect((await b.init()).code).toBe(0);
      const held = b.startApply({ run: 'held', holdUntil: hold });
      for (let i = 0; i < 600 && (await current(`${p}.tflock`)) === undefined; i++) await new Promise((r) => setTimeout(r, 100));
      const lockBody = (await current(`${p}.tflock`))!.toString();
      const before = await versions('tf/');
      const lockVersions = before.filter((v) => v.key === `${p}.tflock`);
      // init reads no lock; each apply left one version and one marker; the held run one current version.
      expect(lockVersions.filter((v) => !v.marker).length).toBe(RUNS + 1);
      expect(lockVersions.filter((v) => v.marker).length).toBe(RUNS);

      const args = ['prune-locks', '--prefix', 'tf/', '--bucket', BUCKET, '--lockfile', '--region', REGION, '--path-style'];
      const dry = await tool(args);
      process.stderr.write(`prune-locks after ${RUNS} locked runs, one holding its lock (dry run):\n${dry.err}${dry.out}`);
      expect(dry.code).toBe(0);
      expect(dry.out).toContain(`Would remove: ${RUNS} lock-file versions`);
      expect(await versions('tf/')).toEqual(before);
      const r = await tool([...args, '--delete']);
      process.stderr.write(`prune-locks --delete:\n${r.err}${r.out}`);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`Removed: ${RUNS} of ${RUNS} lock-file versions`);
      expect(r.out).toContain(`Kept 1 current lock file (a lock held, or left behind: see \`locks\`): ${p}.tflock`);
      const after = await versions('tf/');
      expect(after.filter((v) => v.key === p)).toEqual(before.filter((v) => v.key === p));
      expect(after.filter((v) => v.key === `${p}.tflock`)).toEqual(lockVersions.filter((v) => v.latest));
      expect((await current(`${p}.tflock`))!.toString()).toBe(lockBody);

      fs.writeFileSync(hold, '');
      const done = await held.done;
      expect({ code: done.code, output: done.output }).toEqual({ code: 0, output: expect.any(String) });
      expect(await current(`${p}.tflock`)).toBeUndefined();
    }, 180_000);
  });
});
