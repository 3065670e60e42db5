import { ExitCode } from '../src/errors';
import { awsFault, fakeAws } from './fake-aws';
import { BACKEND_FLAGS, BOTH_FLAGS, BUCKET, run, TABLE, terraformLock } from './helpers';

const ID_A = '715f2a2a-25f3-8954-68f0-52ef6df5e0ce';
const ID_B = '33201b98-f755-2325-1b75-ff3e72ccee0e';

/** A backend with a stale DynamoDB lock (2h30m old), a fresh lock file, a digest item and another bucket's lock. */
function backendWithLocks() {
  const aws = fakeAws();
  aws.dynamodb.putRaw(TABLE, { LockID: { S: `${BUCKET}/terraform.tfstate` }, Info: { S: terraformLock(ID_A, `${BUCKET}/terraform.tfstate`, '2026-11-26T09:30:00.5Z') } });
  aws.dynamodb.putRaw(TABLE, { LockID: { S: `${BUCKET}/terraform.tfstate-md5` }, Digest: { S: '881d55c2e7a9342d2cb011649d8c6b9b' } });
  aws.dynamodb.putRaw(TABLE, { LockID: { S: 'other-bucket/terraform.tfstate' }, Info: { S: terraformLock('cccccccc-0000-0000-0000-000000000000', 'other-bucket/terraform.tfstate') } });
  aws.s3.put(BUCKET, 'terraform.tfstate', '{}');
  aws.s3.put(BUCKET, 'env:/staging/net.tfstate.tflock', terraformLock(ID_B, `${BUCKET}/env:/staging/net.tfstate`, '2026-11-26T11:59:18Z', 'OperationTypePlan'));
  return aws;
}

describe('locks', () => {
  test('lists lock items and lock files with who, operation, version, created and age; not digests, not other buckets', async () => {
    const aws = backendWithLocks();
    const r = await run(['locks', ...BOTH_FLAGS], aws);
    expect(r).toEqual({
      code: ExitCode.OK,
      err: '',
      out: 'STATE PATH                LOCK      ID                                    WHO           OPERATION  VERSION  CREATED               AGE\n'
        + `env:/staging/net.tfstate  lockfile  ${ID_B}  alice@laptop  plan       1.11.4   2026-11-26T11:59:18Z  42s\n`
        + `terraform.tfstate         dynamodb  ${ID_A}  alice@laptop  apply      1.11.4   2026-11-26T09:30:00Z  2h29m\n`
        + '\n2 locks. Looked at: the lock items of table terraform-lock, the lock files (*.tflock) of s3://state-bucket. Remove a stale one with: '
        + 'tfstate-ops unlock <STATE PATH> --id <ID> --bucket state-bucket --table terraform-lock --region eu-west-1 --lockfile\n',
    });
    // A consistent scan narrowed to this bucket's items.
    expect(aws.dynamodb.calls('ScanCommand')[0].input).toMatchObject({
      TableName: TABLE, ConsistentRead: true, FilterExpression: 'begins_with(LockID, :prefix)', ExpressionAttributeValues: { ':prefix': { S: `${BUCKET}/` } },
    });
  });

  test('a lock on a state key that ends in -md5 is a lock: digest items are told apart by their missing Info, not by the suffix', async () => {
    const aws = fakeAws();
    aws.dynamodb.putRaw(TABLE, { LockID: { S: `${BUCKET}/app-md5` }, Info: { S: terraformLock(ID_A, `${BUCKET}/app-md5`) } });
    aws.dynamodb.putRaw(TABLE, { LockID: { S: `${BUCKET}/app-md5-md5` }, Digest: { S: '881d55c2e7a9342d2cb011649d8c6b9b' } });
    const r = await run(['locks', '--json', ...BOTH_FLAGS], aws);
    expect(r.code).toBe(ExitCode.OK);
    expect(JSON.parse(r.out).locks).toEqual([expect.objectContaining({ statePath: 'app-md5', kind: 'dynamodb', id: ID_A })]);
  });

  test('--older-than keeps the stale ones', async () => {
    const r = await run(['locks', '--older-than', '1h', ...BOTH_FLAGS], backendWithLocks());
    expect(r.code).toBe(ExitCode.OK);
    expect(r.out).toContain(`terraform.tfstate  dynamodb  ${ID_A}`);
    expect(r.out).not.toContain(ID_B);
    expect(r.out).toContain('1 lock (1 younger not shown). Looked at: the lock items of table terraform-lock, the lock files (*.tflock) of s3://state-bucket.');
  });

  test('--json gives every field', async () => {
    const r = await run(['locks', '--json', ...BOTH_FLAGS], backendWithLocks());
    expect(JSON.parse(r.out)).toEqual({
      bucket: BUCKET,
      table: TABLE,
      notShown: 0,
      searched: [{ kind: 'dynamodb', table: TABLE }, { kind: 'lockfile', bucket: BUCKET }],
      locks: [
        {
          statePath: 'env:/staging/net.tfstate', kind: 'lockfile', location: { bucket: BUCKET, key: 'env:/staging/net.tfstate.tflock' },
          id: ID_B, operation: 'OperationTypePlan', who: 'alice@laptop', version: '1.11.4', created: '2026-11-26T11:59:18Z', ageSeconds: 42, info: '',
          path: `${BUCKET}/env:/staging/net.tfstate`,
        },
        {
          statePath: 'terraform.tfstate', kind: 'dynamodb', location: { table: TABLE, lockId: `${BUCKET}/terraform.tfstate` },
          id: ID_A, operation: 'OperationTypeApply', who: 'alice@laptop', version: '1.11.4', created: '2026-11-26T09:30:00.5Z', ageSeconds: 8999, info: '',
          path: `${BUCKET}/terraform.tfstate`,
        },
      ],
    });
  });

  test('pages through the scan and the listing', async () => {
    const aws = fakeAws();
    aws.dynamodb.pageSize = 2;
    aws.s3.pageSize = 2;
    for (let i = 0; i < 5; i++) {
      aws.dynamodb.putRaw(TABLE, { LockID: { S: `${BUCKET}/s${i}` }, Info: { S: terraformLock(`id-${i}`, `${BUCKET}/s${i}`) } });
      aws.s3.put(BUCKET, `f${i}.tflock`, terraformLock(`file-${i}`, `${BUCKET}/f${i}`));
      aws.s3.put(BUCKET, `f${i}`, '{}');
    }
    const r = await run(['locks', '--json', ...BOTH_FLAGS], aws);
    expect(JSON.parse(r.out).locks.map((l: { id: string }) => l.id)).toEqual(['file-0', 'file-1', 'file-2', 'file-3', 'file-4', 'id-0', 'id-1', 'id-2', 'id-3', 'id-4']);
  });

  test('a lock that is not a LockInfo is still listed, with what is wrong', async () => {
    const aws = fakeAws();
    aws.s3.put(BUCKET, 'x.tflock', 'garbage');
    const r = await run(['locks', ...BOTH_FLAGS], aws);
    expect(r.out).toContain('x           lockfile  ?   -    ? (not a Terraform LockInfo: ');
  });

  test('no locks', async () => {
    expect(await run(['locks', '--bucket', BUCKET, '--lockfile'])).toEqual({ code: ExitCode.OK, err: '', out: 'No locks. Looked at: the lock files (*.tflock) of s3://state-bucket; not a lock table (the backend has none: no dynamodb_table).\n' });
  });
});

describe('unlock', () => {
  test('a removal that fails says what is left: nothing, or the lock item gone and the lock file not, with the command that finishes', async () => {
    for (const failing of ['DeleteItemCommand', 'DeleteObjectCommand'] as const) {
      const aws = fakeAws();
      const lock = terraformLock(ID_A, `${BUCKET}/net.tfstate`);
      aws.dynamodb.putRaw(TABLE, { LockID: { S: `${BUCKET}/net.tfstate` }, Info: { S: lock } });
      aws.s3.put(BUCKET, 'net.tfstate.tflock', lock);
      const client = failing === 'DeleteItemCommand' ? aws.dynamodb : aws.s3;
      client.before(failing, () => { throw awsFault('InternalError', 500, 'We encountered an internal error. Please try again.'); }, { once: false });
      const r = await run(['unlock', 'net.tfstate', '--id', ID_A, ...BOTH_FLAGS], aws);
      expect(r.code).toBe(ExitCode.FAILURE);
      if (failing === 'DeleteItemCommand') {
        expect(r.err).toContain(`failed (InternalError: We encountered an internal error. Please try again.). Nothing was removed: the lock ${ID_A} on net.tfstate is as it was.`);
        expect(aws.dynamodb.item(TABLE, `${BUCKET}/net.tfstate`)).toBeDefined();
      } else {
        expect(r.err).toContain(`Removed item LockID="${BUCKET}/net.tfstate" in table terraform-lock; s3://${BUCKET}/net.tfstate.tflock was not, `
          + `so Terraform still sees the state locked. Run the same command again to remove the rest: tfstate-ops unlock net.tfstate --id ${ID_A} `
          + '--bucket state-bucket --table terraform-lock --region eu-west-1 --lockfile');
        expect(aws.dynamodb.item(TABLE, `${BUCKET}/net.tfstate`)).toBeUndefined();
      }
      expect(aws.s3.current(BUCKET, 'net.tfstate.tflock')).toBeDefined();
    }
  });

  test('a wrong ID is refused (exit 3), the lock stays and its holder is shown', async () => {
    const aws = backendWithLocks();
    const r = await run(['unlock', 'terraform.tfstate', '--id', ID_B, ...BOTH_FLAGS], aws);
    expect(r.code).toBe(ExitCode.REFUSED);
    expect(r.err).toBe(`tfstate-ops: state s3://${BUCKET}/terraform.tfstate (the argument)\n`
      + `tfstate-ops: lock ID ${ID_B} does not match the lock on terraform.tfstate; nothing was removed:\n`
      + `  Lock:      item LockID="${BUCKET}/terraform.tfstate" in table terraform-lock\n`
      + `  ID:        ${ID_A}\n`
      + `  Path:      ${BUCKET}/terraform.tfstate\n`
      + '  Operation: OperationTypeApply (apply)\n'
      + '  Who:       alice@laptop\n'
      + '  Version:   1.11.4\n'
      + '  Created:   2026-11-26T09:30:00.5Z (2h29m ago)\n');
    expect(aws.dynamodb.item(TABLE, `${BUCKET}/terraform.tfstate`)).toBeDefined();
    expect(aws.dynamodb.calls('DeleteItemCommand')).toEqual([]);
  });

  test('the right ID removes a DynamoDB lock with OpenTofu\'s conditional delete on the Info read', async () => {
    const aws = backendWithLocks();
    const r = await run(['unlock', 'terraform.tfstate', '--id', ID_A, ...BOTH_FLAGS], aws);
    expect(r).toEqual({
      code: ExitCode.OK,
      err: `tfstate-ops: state s3://${BUCKET}/terraform.tfstate (the argument)\n`,
      out: `Removed lock ${ID_A} on terraform.tfstate (OperationTypeApply by alice@laptop, Terraform 1.11.4, created 2026-11-26T09:30:00.5Z):\n`
        + `  item LockID="${BUCKET}/terraform.tfstate" in table terraform-lock\n`,
    });
    expect(aws.dynamodb.calls('GetItemCommand')[0].input).toMatchObject({ ConsistentRead: true });
    expect(aws.dynamodb.calls('DeleteItemCommand')[0].input).toEqual({
      TableName: TABLE,
      Key: { LockID: { S: `${BUCKET}/terraform.tfstate` } },
      ConditionExpression: 'Info = :info',
      ExpressionAttributeValues: { ':info': { S: terraformLock(ID_A, `${BUCKET}/terraform.tfstate`, '2026-11-26T09:30:00.5Z') } },
    });
    expect(aws.dynamodb.item(TABLE, `${BUCKET}/terraform.tfstate`)).toBeUndefined();
    expect(aws.dynamodb.item(TABLE, `${BUCKET}/terraform.tfstate-md5`)).toBeDefined();
  });

  test('the right ID removes a lock file with If-Match on the ETag read', async () => {
    const aws = backendWithLocks();
    const etag = aws.s3.current(BUCKET, 'env:/staging/net.tfstate.tflock')!.etag;
    const r = await run(['unlock', 'env:/staging/net.tfstate', '--id', ID_B, ...BOTH_FLAGS], aws);
    expect(r.code).toBe(ExitCode.OK);
    expect(r.out).toContain(`  s3://${BUCKET}/env:/staging/net.tfstate.tflock\n`);
    expect(aws.s3.calls('DeleteObjectCommand').map((c) => c.input)).toEqual([{ Bucket: BUCKET, Key: 'env:/staging/net.tfstate.tflock', IfMatch: etag }]);
    expect(aws.s3.current(BUCKET, 'env:/staging/net.tfstate.tflock')).toBeUndefined();
  });

  test('with both kinds of lock, both are removed; with one wrong, neither', async () => {
    const aws = fakeAws();
    const path = `${BUCKET}/both.tfstate`;
    aws.dynamodb.putRaw(TABLE, { LockID: { S: path }, Info: { S: terraformLock(ID_A, path) } });
    aws.s3.put(BUCKET, 'both.tfstate.tflock', terraformLock(ID_A, path));
    aws.s3.put(BUCKET, 'mixed.tfstate.tflock', terraformLock(ID_B, `${BUCKET}/mixed.tfstate`));
    aws.dynamodb.putRaw(TABLE, { LockID: { S: `${BUCKET}/mixed.tfstate` }, Info: { S: terraformLock(ID_A, `${BUCKET}/mixed.tfstate`) } });

    const mixed = await run(['unlock', 'mixed.tfstate', '--id', ID_A, ...BOTH_FLAGS], aws);
    expect(mixed.code).toBe(ExitCode.REFUSED);
    expect(aws.dynamodb.item(TABLE, `${BUCKET}/mixed.tfstate`)).toBeDefined();
    expect(aws.s3.current(BUCKET, 'mixed.tfstate.tflock')).toBeDefined();

    const both = await run(['unlock', 'both.tfstate', '--id', ID_A, ...BOTH_FLAGS], aws);
    expect(both.code).toBe(ExitCode.OK);
    expect(aws.dynamodb.item(TABLE, path)).toBeUndefined();
    expect(aws.s3.current(BUCKET, 'both.tfstate.tflock')).toBeUndefined();
  });

  test('a lock released and taken again between the read and the delete is not removed (DynamoDB)', async () => {
    const aws = backendWithLocks();
    const lockId = `${BUCKET}/terraform.tfstate`;
    const retaken = terraformLock(ID_B, lockId, '2026-11-26T11:59:59Z');
    aws.dynamodb.before('DeleteItemCommand', () => aws.dynamodb.putRaw(TABLE, { LockID: { S: lockId }, Info: { S: retaken } }));
    const r = await run(['unlock', 'terraform.tfstate', '--id', ID_A, ...BOTH_FLAGS], aws);
    expect(r.code).toBe(ExitCode.REFUSED);
    expect(r.err).toContain('the lock on terraform.tfstate changed after it was read, so it was not removed:');
    expect(r.err).toContain(`  ID:        ${ID_B}`);
    expect(aws.dynamodb.item(TABLE, lockId)?.Info?.S).toBe(retaken);
  });

  test('a lock file released and taken again between the read and the delete is not removed', async () => {
    const aws = backendWithLocks();
    const key = 'env:/staging/net.tfstate.tflock';
    const retaken = terraformLock(ID_A, `${BUCKET}/env:/staging/net.tfstate`, '2026-11-26T11:59:59Z');
    aws.s3.before('DeleteObjectCommand', () => { aws.s3.put(BUCKET, key, retaken); });
    const r = await run(['unlock', 'env:/staging/net.tfstate', '--id', ID_B, ...BOTH_FLAGS], aws);
    expect(r.code).toBe(ExitCode.REFUSED);
    expect(aws.s3.current(BUCKET, key)?.body?.toString()).toBe(retaken);
  });

  test('a lock gone between the read and the delete is reported as gone', async () => {
    const aws = backendWithLocks();
    aws.dynamodb.before('DeleteItemCommand', () => { aws.dynamodb.tables.get(TABLE)!.delete(`${BUCKET}/terraform.tfstate`); });
    const r = await run(['unlock', 'terraform.tfstate', '--id', ID_A, ...BOTH_FLAGS], aws);
    expect(r.code).toBe(ExitCode.OK);
    expect(r.out).toContain('in table terraform-lock (already gone when it was deleted)');
  });

  test('no lock there: exit 4, saying where it looked', async () => {
    const r = await run(['unlock', 'nothing.tfstate', '--id', ID_A, ...BOTH_FLAGS], backendWithLocks());
    expect(r.code).toBe(ExitCode.NOT_FOUND);
    expect(r.err).toBe(`tfstate-ops: state s3://${BUCKET}/nothing.tfstate (the argument)\n`
      + `tfstate-ops: no lock on nothing.tfstate: no item LockID="${BUCKET}/nothing.tfstate" in table terraform-lock, `
      + `no s3://${BUCKET}/nothing.tfstate.tflock. See the locks with: tfstate-ops locks --bucket state-bucket --table terraform-lock --region eu-west-1 --lockfile\n`);
  });

  test('Terraform\'s lock Path (<bucket>/<state path>) is accepted: the bucket name is dropped, and the tool says so', async () => {
    const aws = backendWithLocks();
    const r = await run(['unlock', `${BUCKET}/terraform.tfstate`, '--id', ID_A, ...BACKEND_FLAGS], aws);
    expect(r.code).toBe(ExitCode.OK);
    expect(r.err).toBe(`tfstate-ops: state s3://${BUCKET}/terraform.tfstate (the argument without "${BUCKET}/": Terraform's lock Path is <bucket>/<state path>)\n`);
    expect(r.out).toContain(`Removed lock ${ID_A} on terraform.tfstate`);
    expect(aws.dynamodb.item(TABLE, `${BUCKET}/terraform.tfstate`)).toBeUndefined();
  });

  test('a state key that itself starts with the bucket name is still found', async () => {
    const aws = fakeAws();
    const path = `${BUCKET}/x.tfstate`;
    aws.dynamodb.putRaw(TABLE, { LockID: { S: `${BUCKET}/${path}` }, Info: { S: terraformLock(ID_A, `${BUCKET}/${path}`) } });
    const r = await run(['unlock', path, '--id', ID_A, ...BACKEND_FLAGS], aws);
    expect(r.code).toBe(ExitCode.OK);
    expect(r.err).toBe(`tfstate-ops: state s3://${BUCKET}/${path} (the argument)\n`);
    expect(aws.dynamodb.item(TABLE, `${BUCKET}/${path}`)).toBeUndefined();
  });

  test('no lock, on a backend without lock files: no word of a .tflock', async () => {
    const r = await run(['unlock', 'nothing.tfstate', '--id', ID_A, ...BACKEND_FLAGS], backendWithLocks());
    expect(r.code).toBe(ExitCode.NOT_FOUND);
    expect(r.err).toBe(`tfstate-ops: state s3://${BUCKET}/nothing.tfstate (the argument)\n`
      + `tfstate-ops: no lock on nothing.tfstate: no item LockID="${BUCKET}/nothing.tfstate" in table terraform-lock. `
      + 'See the locks with: tfstate-ops locks --bucket state-bucket --table terraform-lock --region eu-west-1\n');
  });

  test('no lock under Terraform\'s Path nor under the argument as a state path: both named', async () => {
    const r = await run(['unlock', `${BUCKET}/nothing.tfstate`, '--id', ID_A, ...BOTH_FLAGS], backendWithLocks());
    expect(r.code).toBe(ExitCode.NOT_FOUND);
    expect(r.err).toContain(`tfstate-ops: no lock on nothing.tfstate (Terraform's lock Path ${BUCKET}/nothing.tfstate without "${BUCKET}/") `
      + `nor on ${BUCKET}/nothing.tfstate: no item LockID="${BUCKET}/nothing.tfstate" or "${BUCKET}/${BUCKET}/nothing.tfstate" in table terraform-lock, `
      + `no s3://${BUCKET}/nothing.tfstate.tflock or s3://${BUCKET}/${BUCKET}/nothing.tfstate.tflock. See the locks with: `);
  });

  test('--json reports what was removed; a refusal is a JSON error with the holder', async () => {
    const aws = backendWithLocks();
    const refused = await run(['unlock', 'terraform.tfstate', '--id', 'wrong', '--json', ...BOTH_FLAGS], aws);
    expect(JSON.parse(refused.out)).toMatchObject({ error: { exitCode: 3, locks: [{ id: ID_A, kind: 'dynamodb' }] } });
    const done = await run(['unlock', 'terraform.tfstate', '--id', ID_A, '--json', ...BOTH_FLAGS], aws);
    expect(JSON.parse(done.out)).toMatchObject({ statePath: 'terraform.tfstate', id: ID_A, removed: [{ kind: 'dynamodb', outcome: 'removed' }] });
  });
});
