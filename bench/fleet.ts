/**
 * Benchmark (not a test): `tfstate-ops inventory` and `locks` on a seeded backend of
 * 1,000 and 10,000 states (SIZES to change), S3 on moto_server and the lock table on
 * DynamoDB Local, started the way the tests start them. Run with `npm run bench:fleet`;
 * it prints one JSON line per size.
 *
 * Each size is its own bucket and table: N states under `team-<i % 50>/stack-<i>/`
 * (a third of them in a workspace, env:/staging/...), each with its digest item; 1% of
 * them locked (a lock item). Seeding is parallel PutObject (64 at a time) and
 * BatchWriteItem (25 items a call, 8 at a time), and is not measured.
 *
 * Measured: the tool's wall time in this process (main(), as the command line runs it,
 * its SDK clients pointed at the emulators) and the AWS calls it made, counted by an SDK
 * middleware on every client the tool makes (one count per API call; the SDK's retries of
 * a call are not counted again, and are reported apart). Also measured: 1,000 bare
 * GetObjects at the tool's concurrency, the emulator's own pace and so the floor of the
 * tool's time (`bareGetObject.projectedMs` for all N).
 */
import * as os from 'os';
import { performance } from 'perf_hooks';
import { BatchWriteItemCommand, BatchWriteItemCommandInput, BatchWriteItemCommandOutput, CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, GetObjectCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ClientFactory, sdkClientFactory } from '../cli/src/aws';
import { INVENTORY_CONCURRENCY } from '../cli/src/inventory';
import { marshalLockInfo } from '../cli/src/lock-info';
import { mapLimit } from '../cli/src/locks';
import { main } from '../cli/src/main';
import { md5Hex } from '../cli/src/state';
import { startDynamoDbLocal } from '../test/support/dynamodb-local';
import { startMotoServer } from '../test/support/moto-server';

const SIZES = (process.env.SIZES ?? '1000,10000').split(',').map(Number);
const REGION = 'eu-west-1';
const LINEAGE = '1f0d2c3e-4b5a-6978-8a9b-0c1d2e3f4a5b';

/** A small state as Terraform writes it: `resources` terraform_data instances. */
function stateBody(i: number, resources: number): string {
  return JSON.stringify({
    version: 4, terraform_version: '1.11.4', serial: 1 + (i % 17), lineage: LINEAGE, outputs: {},
    resources: Array.from({ length: resources }, (_, r) => ({
      mode: 'managed', type: 'terraform_data', name: `r${r}`, provider: 'provider["terraform.io/builtin/terraform"]',
      instances: [{ schema_version: 0, attributes: { id: `${i}-${r}`, input: null, output: null, triggers_replace: null } }],
    })),
    check_results: null,
  }, null, 2) + '\n';
}

/** Counts every API call of every client the tool makes, by service and command. */
function countingClients(env: Record<string, string | undefined>): { clients: ClientFactory; counts: Map<string, number>; attempts: () => number } {
  const base = sdkClientFactory(env);
  const counts = new Map<string, number>();
  let attempts = 0;
  type Next = (args: unknown) => Promise<{ output?: { $metadata?: { attempts?: number } } }>;
  type Stack = { add: (mw: (next: Next, context: { commandName?: string }) => Next, options: { step: 'initialize'; name: string }) => void };
  const count = <C>(service: string, client: C): C => {
    (client as unknown as { middlewareStack: Stack }).middlewareStack.add((next, context) => async (args) => {
      const name = `${service}:${String(context.commandName).replace(/Command$/, '')}`;
      counts.set(name, (counts.get(name) ?? 0) + 1);
      const out = await next(args);
      attempts += Math.max(0, (out?.output?.$metadata?.attempts ?? 1) - 1);
      return out;
    }, { step: 'initialize', name: 'benchCallCounter' });
    return client;
  };
  return {
    counts,
    attempts: () => attempts,
    clients: {
      s3: (o) => count('s3', base.s3(o)),
      dynamodb: (o) => count('dynamodb', base.dynamodb(o)),
      ssm: (o) => count('ssm', base.ssm(o)),
      sts: (o) => count('sts', base.sts(o)),
      organizations: (o) => count('organizations', base.organizations(o)),
    },
  };
}

async function seed(s3: S3Client, ddb: DynamoDBClient, bucket: string, table: string, n: number): Promise<{ paths: string[]; locked: number }> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  await ddb.send(new CreateTableCommand({
    TableName: table, KeySchema: [{ AttributeName: 'LockID', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'LockID', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST',
  }));
  const paths = Array.from({ length: n }, (_, i) => {
    const key = `team-${i % 50}/stack-${i}/terraform.tfstate`;
    return i % 3 === 0 ? `env:/staging/${key}` : key;
  });
  const items: Array<Record<string, { S: string }>> = [];
  await mapLimit(paths, 64, async (path) => {
    const i = paths.indexOf(path);
    const body = stateBody(i, 1 + (i % 5));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: path, Body: body, ContentType: 'application/json' }));
    items.push({ LockID: { S: `${bucket}/${path}-md5` }, Digest: { S: md5Hex(Buffer.from(body)) } });
  });
  let locked = 0;
  for (let i = 0; i < n; i += 100) {
    locked++;
    const info = marshalLockInfo({
      ID: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, Operation: 'OperationTypeApply', Info: '', Who: 'bench@host',
      Version: '1.11.4', Created: '2026-11-26T09:00:00Z', Path: `${bucket}/${paths[i]}`,
    });
    items.push({ LockID: { S: `${bucket}/${paths[i]}` }, Info: { S: info } });
  }
  const batches: Array<typeof items> = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  await mapLimit(batches, 8, async (batch) => {
    let request: BatchWriteItemCommandInput['RequestItems'] = { [table]: batch.map((Item) => ({ PutRequest: { Item } })) };
    while (request && Object.keys(request).length > 0) {
      const out: BatchWriteItemCommandOutput = await ddb.send(new BatchWriteItemCommand({ RequestItems: request }));
      request = out.UnprocessedItems;
    }
  });
  return { paths, locked };
}

interface Measured {
  readonly ms: number;
  readonly out: string;
  readonly calls: Record<string, number>;
  readonly total: number;
  readonly retries: number;
}

async function measure(argv: string[], env: Record<string, string>): Promise<Measured> {
  const { clients, counts, attempts } = countingClients(env);
  let out = '';
  let err = '';
  const t0 = performance.now();
  const code = await main(argv, { stdout: (t) => { out += t; }, stderr: (t) => { err += t; }, env, clients, stderrIsTTY: false });
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`${argv.join(' ')} exited ${code}: ${err}`);
  const calls = Object.fromEntries([...counts].sort());
  return { ms, out, calls, total: [...counts.values()].reduce((a, b) => a + b, 0), retries: attempts() };
}

function summary(m: Measured, n: number): Record<string, unknown> {
  return { wallMs: Math.round(m.ms), calls: m.total, callsPerState: Math.round((m.total / n) * 1000) / 1000, byCall: m.calls, retries: m.retries };
}

async function run(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const [moto, ddbLocal] = await Promise.all([startMotoServer(), startDynamoDbLocal()]);
  const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
  process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
  const s3 = new S3Client({ endpoint: moto.endpoint, region: REGION, forcePathStyle: true, credentials });
  const ddb = new DynamoDBClient({ endpoint: ddbLocal.endpoint, region: REGION, credentials });
  const env = { AWS_ENDPOINT_URL_S3: moto.endpoint, AWS_ENDPOINT_URL_DYNAMODB: ddbLocal.endpoint, AWS_REGION: REGION };
  try {
    for (const n of SIZES) {
      const bucket = `bench-fleet-${n}`;
      const table = `bench-lock-${n}`;
      const t0 = performance.now();
      const { paths, locked } = await seed(s3, ddb, bucket, table, n);
      const seedMs = performance.now() - t0;
      const flags = ['--bucket', bucket, '--table', table, '--region', REGION, '--path-style', '--json'];
      const inventory = await measure(['inventory', ...flags], env);
      const doc = JSON.parse(inventory.out) as { states: Array<{ digest: string; lock: unknown }> };
      if (doc.states.length !== n || doc.states.some((s) => s.digest !== 'match') || doc.states.filter((s) => s.lock).length !== locked) {
        throw new Error(`inventory of ${n} states reported ${doc.states.length} states, ${doc.states.filter((s) => s.lock).length} locked`);
      }
      // The emulator's own pace: 1,000 bare GetObjects, as many at once as the tool does (the floor of the tool's time).
      const sample = paths.slice(0, 1000);
      const b0 = performance.now();
      await mapLimit(sample, INVENTORY_CONCURRENCY, async (key) => {
        const o = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        await o.Body!.transformToByteArray();
      });
      const bareGetObjectMs = (performance.now() - b0) / sample.length;
      const locks = await measure(['locks', ...flags], env);
      const found = (JSON.parse(locks.out) as { locks: unknown[] }).locks.length;
      if (found !== locked) throw new Error(`locks found ${found} locks, ${locked} seeded`);
      console.log(JSON.stringify({
        states: n,
        seedMs: Math.round(seedMs),
        loadAverage: os.loadavg().map((l) => Math.round(l * 10) / 10),
        bareGetObject: { msPerCall: Math.round(bareGetObjectMs * 100) / 100, projectedMs: Math.round(bareGetObjectMs * n) },
        inventory: summary(inventory, n),
        locks: { ...summary(locks, n), locks: found },
      }));
    }
  } finally {
    s3.destroy();
    ddb.destroy();
    await Promise.all([moto.stop(), ddbLocal.stop()]);
  }
}

run().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
