/**
 * The DynamoDB side of tfstate-ops on a real DynamoDB API (AWS's DynamoDB Local): the
 * condition expressions it sends are evaluated by DynamoDB itself, and its lock items
 * meet the Terraform/OpenTofu lock client of the construct's integration tests. S3 is
 * the in-memory fake (the real-clients harness covers S3 and the Terraform binary).
 */
import { createHash } from 'crypto';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDbLocal, startDynamoDbLocal } from '../../test/support/dynamodb-local';
import { LockError, localClient, newLockInfo, TerraformLockClient } from '../../test/support/terraform-lock-client';
import { ClientFactory } from '../src/aws';
import { ExitCode } from '../src/errors';
import { acquireLocks, Ops, releaseLocks } from '../src/locks';
import { newLockInfo as toolLockInfo } from '../src/lock-info';
import { fakeAws } from './fake-aws';
import { BUCKET, run, tfState, withoutStateLine } from './helpers';

let ddbLocal: DynamoDbLocal | undefined;
let client: DynamoDBClient;
let tableCount = 0;

beforeAll(async () => {
  let endpoint = process.env.DYNAMODB_LOCAL_ENDPOINT;
  if (!endpoint) {
    // Run alone (jest's global setup starts DynamoDB Local only for test/*.integ.test.ts).
    ddbLocal = await startDynamoDbLocal();
    endpoint = ddbLocal.endpoint;
  }
  client = localClient(endpoint);
}, 60_000);

afterAll(async () => {
  client?.destroy();
  await ddbLocal?.stop();
});

/** A fresh lock table as the construct makes it (LockID string key), and the tool's clients on it. */
async function setup() {
  const table = `cli-lock-${process.pid}-${++tableCount}`;
  await client.send(new CreateTableCommand({
    TableName: table,
    KeySchema: [{ AttributeName: 'LockID', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'LockID', AttributeType: 'S' }],
    BillingMode: 'PAY_PER_REQUEST',
  }));
  const aws = fakeAws();
  const clients: ClientFactory = { ...aws.clients, dynamodb: () => client };
  const terraform = (style: 'terraform' | 'opentofu' = 'terraform', key = 'terraform.tfstate') =>
    new TerraformLockClient({ client, table, bucket: BUCKET, key, unlockStyle: style });
  const flags = ['--bucket', BUCKET, '--table', table];
  return { table, aws, clients, terraform, flags };
}

test('unlock: a wrong ID is refused, the right one removes a Terraform lock; the digest item stays', async () => {
  const { aws, clients, terraform, flags, table } = await setup();
  const tf = terraform();
  const id = await tf.lock(newLockInfo({ who: 'alice@laptop', version: '1.11.4' }));
  await tf.putDigest('881d55c2e7a9342d2cb011649d8c6b9b');

  const listed = await run(['locks', '--json', ...flags], { ...aws, clients });
  expect(JSON.parse(listed.out).locks).toEqual([expect.objectContaining({ statePath: 'terraform.tfstate', id, who: 'alice@laptop', kind: 'dynamodb' })]);

  expect((await run(['unlock', 'terraform.tfstate', '--id', 'wrong', ...flags], { ...aws, clients })).code).toBe(ExitCode.REFUSED);
  await expect(tf.getLockInfo()).resolves.toMatchObject({ ID: id });

  expect((await run(['unlock', 'terraform.tfstate', '--id', id, ...flags], { ...aws, clients })).code).toBe(ExitCode.OK);
  await expect(tf.getLockInfo()).rejects.toThrow('no lock info found');
  await expect(tf.getDigest()).resolves.toBe('881d55c2e7a9342d2cb011649d8c6b9b');
  const digest = await client.send(new GetItemCommand({ TableName: table, Key: { LockID: { S: `${BUCKET}/terraform.tfstate-md5` } } }));
  expect(digest.Item).toBeDefined();
});

test('unlock: a lock taken again between the read and the delete is not removed (Info = :info on DynamoDB)', async () => {
  const { aws, clients, terraform, flags } = await setup();
  const first = terraform();
  const id = await first.lock(newLockInfo());
  let secondId = '';
  // Between the tool's GetItem and its DeleteItem: the holder releases, another run locks.
  const realSend = client.send.bind(client);
  const spy = jest.spyOn(client, 'send').mockImplementation((async (cmd: { constructor: { name: string } }) => {
    if (cmd.constructor.name === 'DeleteItemCommand' && secondId === '') {
      spy.mockRestore();
      await first.unlock(id);
      secondId = await terraform().lock(newLockInfo({ who: 'bob@ci' }));
    }
    return realSend(cmd as never);
  }) as never);
  const r = await run(['unlock', 'terraform.tfstate', '--id', id, ...flags], { ...aws, clients });
  spy.mockRestore();
  expect(r.code).toBe(ExitCode.REFUSED);
  expect(r.err).toContain('changed after it was read, so it was not removed');
  await expect(terraform().getLockInfo()).resolves.toMatchObject({ ID: secondId, Who: 'bob@ci' });
});

test('restore holds a lock Terraform respects and reports, and writes the digest Terraform reads', async () => {
  const { aws, clients, terraform, flags } = await setup();
  const v1 = aws.s3.put(BUCKET, 'terraform.tfstate', tfState(1, 'one'));
  aws.s3.put(BUCKET, 'terraform.tfstate', tfState(2, 'two'));
  let during: unknown;
  aws.s3.before('PutObjectCommand', async () => {
    during = await terraform().lock(newLockInfo()).catch((e) => e);
  });
  const r = await run(['restore', 'terraform.tfstate', '--version-id', v1, ...flags], { ...aws, clients });
  expect(withoutStateLine(r.err)).toBe('');
  expect(r.code).toBe(ExitCode.OK);
  expect(during).toBeInstanceOf(LockError);
  expect((during as LockError).info).toMatchObject({ Who: 'runner@ci via tfstate-ops', Operation: 'tfstate-ops restore' });
  expect((during as LockError).message).toContain('ConditionalCheckFailedException');
  const written = aws.s3.current(BUCKET, 'terraform.tfstate')!.body!;
  await expect(terraform().getDigest()).resolves.toBe(createHash('md5').update(written).digest('hex'));
  // Released: Terraform locks again.
  await expect(terraform().lock(newLockInfo())).resolves.toEqual(expect.any(String));
});

test('the tool\'s lock items are Go-identical: OpenTofu\'s conditional unlock releases them', async () => {
  const { aws, table, terraform } = await setup();
  const ops: Ops = {
    backend: { bucket: BUCKET, table, useLockfile: false, encrypt: false, workspaceKeyPrefix: 'env:', pathStyle: false },
    s3: aws.clients.s3({}),
    dynamodb: client,
    now: () => new Date(),
  };
  const info = toolLockInfo({ Operation: 'tfstate-ops restore', Info: 'a <tricky> & "quoted" info', Who: 'ü@host via tfstate-ops', Version: '0.1.0', Path: '' }, new Date());
  const held = await acquireLocks(ops, 'terraform.tfstate', info);
  await expect(terraform('opentofu').unlock(held.info.ID)).resolves.toBeUndefined();
  // The tool then finds its lock gone and says so.
  await expect(releaseLocks(ops, held)).resolves.toEqual([expect.stringContaining('was removed by someone else while it held it')]);
});

test('digest --fix: the conditions hold on DynamoDB, and a digest changed meanwhile is not overwritten', async () => {
  const { aws, clients, terraform, flags, table } = await setup();
  aws.s3.put(BUCKET, 'terraform.tfstate', tfState(2, 'two'));
  await terraform().putDigest('0'.repeat(32));
  expect((await run(['digest', 'terraform.tfstate', ...flags], { ...aws, clients })).code).toBe(ExitCode.MISMATCH);
  expect((await run(['digest', 'terraform.tfstate', '--fix', ...flags], { ...aws, clients })).code).toBe(ExitCode.OK);
  await expect(terraform().getDigest()).resolves.toBe(createHash('md5').update(tfState(2, 'two')).digest('hex'));

  aws.s3.put(BUCKET, 'terraform.tfstate', tfState(3, 'three'));
  // Between the tool's read under the lock and its write: a writer that ignores the lock.
  const realSend = client.send.bind(client);
  const spy = jest.spyOn(client, 'send').mockImplementation((async (cmd: { constructor: { name: string }; input: { Item?: { Digest?: unknown } } }) => {
    if (cmd.constructor.name === 'PutItemCommand' && cmd.input.Item?.Digest) {
      spy.mockRestore();
      await realSend(new PutItemCommand({ TableName: table, Item: { LockID: { S: `${BUCKET}/terraform.tfstate-md5` }, Digest: { S: 'f'.repeat(32) } } }));
    }
    return realSend(cmd as never);
  }) as never);
  const refused = await run(['digest', 'terraform.tfstate', '--fix', ...flags], { ...aws, clients });
  spy.mockRestore();
  expect(refused.code).toBe(ExitCode.REFUSED);
  await expect(terraform().getDigest()).resolves.toBe('f'.repeat(32));
});
