/**
 * Terraform's and OpenTofu's exact DynamoDB lock protocol against the lock table
 * that the construct synthesizes, on AWS's DynamoDB Local (started by
 * test/support/global-setup.ts, endpoint in DYNAMODB_LOCAL_ENDPOINT).
 */
import { createHash } from 'crypto';
import {
  AttributeValue,
  BillingMode,
  CreateTableCommand,
  CreateTableCommandInput,
  DeleteTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ResourceNotFoundException,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { App } from 'aws-cdk-lib/core';
import { Template } from 'aws-cdk-lib/assertions';
import { LockingMode, TerraformStateBackendStack, TerraformStateBackendStackProps } from '../lib';
import {
  LockError,
  goJsonString,
  localClient,
  LockInfo,
  marshalLockInfo,
  newLockInfo,
  TerraformLockClient,
  TerraformLockClientProps,
  UnlockError,
} from './support/terraform-lock-client';

const BUCKET = 'terraform-state-123456789012-eu-west-1';
/** What Terraform's one second is in these tests. */
const UNIT_MS = 5;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/** The one AWS::DynamoDB::Table of the synthesized stack, as CreateTable input. */
function lockTableFromTemplate(props: TerraformStateBackendStackProps): CreateTableCommandInput {
  const app = new App();
  const stack = new TerraformStateBackendStack(app, 'IntegStack', props);
  const tables = Object.entries(Template.fromStack(stack).findResources('AWS::DynamoDB::Table'));
  if (tables.length !== 1) {
    throw new Error(`expected exactly one AWS::DynamoDB::Table in the template, found ${tables.length}: ${tables.map(([id]) => id).join(', ')}`);
  }
  const p = tables[0][1].Properties ?? {};
  if (typeof p.TableName !== 'string') {
    throw new Error(`the lock table's TableName must be a literal string in the template, got ${JSON.stringify(p.TableName)}`);
  }
  const onDemand = p.BillingMode === 'PAY_PER_REQUEST';
  return {
    TableName: p.TableName,
    KeySchema: p.KeySchema,
    AttributeDefinitions: p.AttributeDefinitions,
    BillingMode: onDemand ? BillingMode.PAY_PER_REQUEST : BillingMode.PROVISIONED,
    ...(onDemand ? {} : { ProvisionedThroughput: p.ProvisionedThroughput }),
  };
}

const STACKS: Array<[string, TerraformStateBackendStackProps]> = [
  ['default stack (LockingMode.DYNAMODB)', { backend: { bucketName: BUCKET } }],
  ['migration stack (LockingMode.DYNAMODB_AND_S3_LOCKFILE)', {
    backend: {
      bucketName: BUCKET,
      locking: LockingMode.DYNAMODB_AND_S3_LOCKFILE,
      lockTableName: 'terraform-lock-migration',
    },
  }],
];

describe.each(STACKS)('Terraform DynamoDB lock protocol on the %s lock table', (_name, stackProps) => {
  let ddb: DynamoDBClient;
  let table: string;

  const client = (props: Omit<TerraformLockClientProps, 'client' | 'table' | 'bucket'>, c: DynamoDBClient = ddb) =>
    new TerraformLockClient({ client: c, table, bucket: BUCKET, ...props });

  const rawItem = async (lockId: string) =>
    (await ddb.send(new GetItemCommand({ TableName: table, Key: { LockID: { S: lockId } }, ConsistentRead: true }))).Item;

  const itemsUnder = async (prefix: string) => {
    const items: Array<Record<string, AttributeValue>> = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await ddb.send(new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }));
      items.push(...(out.Items ?? []).filter((i) => i.LockID?.S?.startsWith(prefix)));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  };

  beforeAll(async () => {
    const endpoint = process.env.DYNAMODB_LOCAL_ENDPOINT;
    if (!endpoint) {
      throw new Error('DYNAMODB_LOCAL_ENDPOINT is not set: run through jest, whose globalSetup starts DynamoDB Local');
    }
    ddb = localClient(endpoint);
    const input = lockTableFromTemplate(stackProps);
    table = input.TableName!;
    try {
      await ddb.send(new DeleteTableCommand({ TableName: table }));
    } catch (e) {
      if (!(e instanceof ResourceNotFoundException)) throw e;
    }
    await ddb.send(new CreateTableCommand(input));
  });

  afterAll(async () => {
    if (ddb) {
      await ddb.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
      ddb.destroy();
    }
  });

  test('classic flow: A locks, B waits on the Terraform schedule, A applies and releases, B acquires at once', async () => {
    const key = 'classic/terraform.tfstate';
    const a = client({ key });
    const b = client({ key });

    // 1. run A acquires
    const aInfo = newLockInfo({ who: 'alice@laptop', operation: 'OperationTypeApply' });
    const aId = await a.lock(aInfo);
    expect(aId).toBe(aInfo.ID);
    expect(aInfo.Path).toBe(`${BUCKET}/${key}`);
    expect((await rawItem(`${BUCKET}/${key}`))?.Info?.S).toBe(marshalLockInfo(aInfo));

    // 2. run B starts while A holds, fails, and waits on Terraform's schedule. Its third wait
    //    starts while A holds and ends only after A has released, so B's next try is the first
    //    one after the release (and cannot fall between A's GetItem and DeleteItem).
    let aReleased!: () => void;
    const released = new Promise<void>((r) => { aReleased = r; });
    const bWaits: number[] = [];
    let bAcquired = false;
    const bInfo = newLockInfo({ who: 'bob@ci', operation: 'OperationTypePlan' });
    const bRun = b.lockWithTimeout(bInfo, 10_000, {
      unitMs: UNIT_MS,
      onWait: (d) => bWaits.push(d),
      sleep: async (ms) => {
        if (bWaits.length === 3) await released;
        await sleep(ms);
      },
    }).then((id) => { bAcquired = true; return id; });
    while (bWaits.length < 3) await sleep(1);

    // 3. A "applies": writes the state digest
    const stateA = '{"version":4,"serial":1}';
    await a.putDigest(md5(stateA));
    expect(await a.getDigest()).toBe(md5(stateA));
    expect(bAcquired).toBe(false);
    expect((await rawItem(`${BUCKET}/${key}`))?.Info?.S).toBe(marshalLockInfo(aInfo));

    // 4. A releases
    await a.unlock(aId);
    aReleased();

    // 5. B acquires on its first try after the release
    const bId = await bRun;
    expect(bId).toBe(bInfo.ID);
    expect(bWaits).toEqual([1, 2, 4].map((n) => n * UNIT_MS));
    expect((await rawItem(`${BUCKET}/${key}`))?.Info?.S).toBe(marshalLockInfo(bInfo));

    // 6. B reads A's digest, applies and releases
    expect(await b.getDigest()).toBe(md5(stateA));
    await b.putDigest(md5('{"version":4,"serial":2}'));
    await b.unlock(bId);

    // 7. no lock item is left; the digest item stays with B's digest
    const left = await itemsUnder(`${BUCKET}/classic/`);
    expect(left.filter((i) => i.Info !== undefined)).toEqual([]);
    expect(left).toEqual([{ LockID: { S: `${BUCKET}/${key}-md5` }, Digest: { S: md5('{"version":4,"serial":2}') } }]);
  });

  test('TestRemoteLocks: B fails naming A; A unlocks; B locks with another ID and unlocks', async () => {
    const key = 'remote-locks/terraform.tfstate';
    const a = client({ key });
    const b = client({ key });
    const aInfo = newLockInfo({ who: 'alice@laptop', operation: 'OperationTypeApply', version: '1.9.8' });
    const aId = await a.lock(aInfo);

    const err = await b.lock(newLockInfo({ who: 'bob@ci' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockError);
    const lockErr = err as LockError;
    expect(lockErr.err.message).toMatch(/^ConditionalCheckFailedException/);
    expect(lockErr.info).toEqual(aInfo);
    expect(lockErr.message).toContain('Error acquiring the state lock');
    for (const line of [`ID:        ${aId}`, `Path:      ${BUCKET}/${key}`, 'Operation: OperationTypeApply', 'Who:       alice@laptop', 'Version:   1.9.8']) {
      expect(lockErr.message).toContain(line);
    }
    expect(lockErr.message).toMatch(/Created: {3}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC/);

    await a.unlock(aId);
    const bId = await b.lock(newLockInfo({ who: 'bob@ci' }));
    expect(bId).not.toBe(aId);
    await b.unlock(bId);
    expect(await rawItem(`${BUCKET}/${key}`)).toBeUndefined();
  });

  test('force-unlock with a wrong ID is refused and the lock stays; with the ID from the error it goes', async () => {
    const key = 'force-unlock/terraform.tfstate';
    const a = client({ key });
    const b = client({ key });
    const aInfo = newLockInfo({ who: 'crashed@runner' });
    await a.lock(aInfo);
    const lockErr = (await b.lock(newLockInfo()).catch((e: unknown) => e)) as LockError;
    expect(lockErr).toBeInstanceOf(LockError);
    const heldId = lockErr.info!.ID;

    const wrong = await b.forceUnlock('00000000-0000-0000-0000-000000000000').catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(UnlockError);
    expect((wrong as UnlockError).message).toContain('does not match existing lock');
    expect((await rawItem(`${BUCKET}/${key}`))?.Info?.S).toBe(marshalLockInfo(aInfo));

    await b.forceUnlock(heldId);
    expect(await rawItem(`${BUCKET}/${key}`)).toBeUndefined();
    await b.unlock(await b.lock(newLockInfo()));
  });

  describe('Terraform and OpenTofu release each other\'s locks; only Go-identical Info can be released the OpenTofu way', () => {
    // Escapes (<, >, &, U+2028), non-ASCII and a trimmed fraction all have to round-trip byte for byte.
    const tricky = () => newLockInfo({
      who: 'ci<bot>&co@runner-é',
      info: 'line\u2028two "quoted" \\ <tag>',
      created: '2026-11-26T09:00:00.1234Z',
    });

    test.each([
      ['terraform', 'opentofu'],
      ['opentofu', 'terraform'],
      ['opentofu', 'opentofu'],
    ] as const)('locked by %s, unlocked by %s', async (locker, unlocker) => {
      const key = `cross-${locker}-${unlocker}/terraform.tfstate`;
      const info = tricky();
      const id = await client({ key, unlockStyle: locker }).lock(info);
      expect((await rawItem(`${BUCKET}/${key}`))?.Info?.S).toBe(
        `{"ID":"${id}","Operation":"OperationTypeApply","Info":"line\\u2028two \\"quoted\\" \\\\ \\u003ctag\\u003e","Who":"ci\\u003cbot\\u003e\\u0026co@runner-é","Version":"1.9.8","Created":"2026-11-26T09:00:00.1234Z","Path":"${BUCKET}/${key}"}`,
      );
      await client({ key, unlockStyle: unlocker }).unlock(id);
      expect(await rawItem(`${BUCKET}/${key}`)).toBeUndefined();
    });

    test.each([
      ['pretty-printed', 'pretty', (i: LockInfo) => JSON.stringify(i, null, 1)],
      ['by JSON.stringify (no Go HTML escapes)', 'stringify', (i: LockInfo) => JSON.stringify(i)],
      ['with fields out of Go order', 'order', (i: LockInfo) => `{${Object.entries(i).reverse().map(([k, v]) => `"${k}":${goJsonString(v)}`).join(',')}}`],
      ['with an untrimmed Created fraction', 'fraction', (i: LockInfo) => marshalLockInfo(i).replace('.1234Z', '.123400000Z')],
    ])('an item written %s is not released the OpenTofu way, but is the Terraform way', async (_how, slug, write) => {
      const key = `non-go-json-${slug}/terraform.tfstate`;
      const lockId = `${BUCKET}/${key}`;
      const info: LockInfo = { ...tricky(), Path: lockId };
      const infoJson = write(info);
      expect(infoJson).not.toBe(marshalLockInfo(info));
      await ddb.send(new PutItemCommand({
        TableName: table,
        Item: { LockID: { S: lockId }, Info: { S: infoJson } },
        ConditionExpression: 'attribute_not_exists(LockID)',
      }));

      const refused = await client({ key, unlockStyle: 'opentofu' }).unlock(info.ID).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(UnlockError);
      expect((refused as UnlockError).err.message).toMatch(/^ConditionalCheckFailedException/);
      expect((await rawItem(lockId))?.Info?.S).toBe(infoJson);

      await client({ key, unlockStyle: 'terraform' }).unlock(info.ID);
      expect(await rawItem(lockId)).toBeUndefined();
    });
  });

  test('workspaces lock independently, and the digest item lives beside the lock without blocking it', async () => {
    const key = 'ws/terraform.tfstate';
    const byWorkspace = {
      default: client({ key }),
      dev: client({ key, workspace: 'dev' }),
      devCustomPrefix: client({ key, workspace: 'dev', workspaceKeyPrefix: 'workspaces' }),
      prod: client({ key, workspace: 'prod' }),
    };
    expect(Object.values(byWorkspace).map((c) => c.lockPath)).toEqual([
      `${BUCKET}/ws/terraform.tfstate`,
      `${BUCKET}/env:/dev/ws/terraform.tfstate`,
      `${BUCKET}/workspaces/dev/ws/terraform.tfstate`,
      `${BUCKET}/env:/prod/ws/terraform.tfstate`,
    ]);

    // a digest written before any lock does not occupy the lock's key
    await byWorkspace.dev.putDigest(md5('dev state'));
    const ids = await Promise.all(Object.values(byWorkspace).map((c) => c.lock(newLockInfo())));
    expect(new Set(ids).size).toBe(4);

    // each workspace is still exclusive on its own
    await expect(client({ key, workspace: 'dev' }).lock(newLockInfo())).rejects.toBeInstanceOf(LockError);
    await expect(client({ key }).lock(newLockInfo())).rejects.toBeInstanceOf(LockError);

    // the digest can be written while the lock is held, and does not disturb it
    await byWorkspace.default.putDigest(md5('default state'));
    expect(await byWorkspace.default.getDigest()).toBe(md5('default state'));
    expect(await byWorkspace.dev.getDigest()).toBe(md5('dev state'));
    expect(await byWorkspace.prod.getDigest()).toBeUndefined();

    await Promise.all(Object.values(byWorkspace).map((c, i) => c.unlock(ids[i])));
    const left = [
      ...await itemsUnder(`${BUCKET}/ws/`),
      ...await itemsUnder(`${BUCKET}/env:/`),
      ...await itemsUnder(`${BUCKET}/workspaces/`),
    ];
    expect(left.map((i) => i.LockID.S).sort()).toEqual([
      `${BUCKET}/env:/dev/ws/terraform.tfstate-md5`,
      `${BUCKET}/ws/terraform.tfstate-md5`,
    ]);
  });

  test('a run whose lock timeout expires reports the holder and leaves the holder\'s lock intact', async () => {
    const key = 'timeout/terraform.tfstate';
    const holder = client({ key });
    const holderInfo = newLockInfo({ who: 'holder@ci', operation: 'OperationTypeApply' });
    const holderId = await holder.lock(holderInfo);

    // -lock-timeout=0 (the default): one try, no wait
    const waits0: number[] = [];
    await expect(client({ key }).lockWithTimeout(newLockInfo(), 0, { unitMs: UNIT_MS, onWait: (d) => waits0.push(d) }))
      .rejects.toBeInstanceOf(LockError);
    expect(waits0).toEqual([]);

    // a timeout of 25 units: waits 1, 2, 4, 8, then 16 cut short by the deadline, then gives up.
    // Time is virtual here and moves only while the client waits, so the schedule does not
    // depend on how long DynamoDB Local takes to answer on a loaded machine (it did: 4 of the
    // 5 waits fitted a real 25-unit budget at load 10); every try still goes to DynamoDB Local.
    const unitMs = 1000;
    let clock = 0;
    const waits: number[] = [];
    const slept: number[] = [];
    const err = await client({ key }).lockWithTimeout(newLockInfo({ who: 'late@ci' }), 25 * unitMs, {
      unitMs,
      now: () => clock,
      sleep: async (ms) => {
        slept.push(ms);
        clock += ms;
      },
      onWait: (d) => waits.push(d),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockError);
    expect((err as LockError).info).toEqual(holderInfo);
    expect((err as LockError).message).toContain(`ID:        ${holderId}`);
    expect(waits).toEqual([1, 2, 4, 8, 16].map((n) => n * unitMs));
    // The last wait is cut to what is left of the deadline (25 - 15 = 10 units), then it gives up.
    expect(slept).toEqual([1, 2, 4, 8, 10].map((n) => n * unitMs));
    expect(clock).toBe(25 * unitMs);

    expect((await rawItem(`${BUCKET}/${key}`))?.Info?.S).toBe(marshalLockInfo(holderInfo));
    await holder.unlock(holderId);
  });

  test('contention: 8 concurrent runs x 10 rounds never hold the lock together, and every round acquires', async () => {
    const key = 'contention/terraform.tfstate';
    const RUNS = 8;
    const ROUNDS = 10;
    const endpoint = process.env.DYNAMODB_LOCAL_ENDPOINT!;
    let holders = 0;
    let maxHolders = 0;
    let overlaps = 0;
    let reruns = 0;
    let waits = 0;
    const acquired: string[] = [];

    const run = async (n: number) => {
      const c = localClient(endpoint); // one connection pool per run, like separate processes
      const tf = client({ key, unlockStyle: n % 2 === 0 ? 'terraform' : 'opentofu' }, c);
      try {
        for (let round = 0; round < ROUNDS; round++) {
          let id: string | undefined;
          while (id === undefined) {
            try {
              id = await tf.lockWithTimeout(newLockInfo({ who: `run${n}@ci` }), 20_000, {
                unitMs: UNIT_MS,
                jitterMs: () => Math.random() * UNIT_MS,
                onWait: () => waits++,
              });
            } catch (e) {
              // Upstream quirk: if the holder releases between our failed PutItem and the GetItem,
              // the LockError has no holder and Terraform fails the run without retrying. The
              // operator re-runs; so do we. Anything else is a real failure.
              if (e instanceof LockError && !e.retriable && /no lock info found/.test(e.err.message)) {
                reruns++;
                continue;
              }
              throw e;
            }
          }
          holders++;
          maxHolders = Math.max(maxHolders, holders);
          if (holders > 1) overlaps++;
          await sleep(Math.random() * 2); // "apply"
          acquired.push(id);
          holders--;
          await tf.unlock(id);
          await sleep(Math.random() * 4); // think time between rounds
        }
      } finally {
        c.destroy();
      }
    };

    await Promise.all(Array.from({ length: RUNS }, (_, n) => run(n)));
    expect({ overlaps, maxHolders }).toEqual({ overlaps: 0, maxHolders: 1 });
    expect(waits + reruns).toBeGreaterThan(0); // the runs really contended
    expect(acquired).toHaveLength(RUNS * ROUNDS);
    expect(new Set(acquired).size).toBe(RUNS * ROUNDS);
    expect(await itemsUnder(`${BUCKET}/contention/`)).toEqual([]);
  }, 30_000);
});
