import { createHash } from 'crypto';
import { ExitCode } from '../src/errors';
import { unmarshalLockInfo } from '../src/lock-info';
import { fakeAws } from './fake-aws';
import { BACKEND_FLAGS, BUCKET, run, TABLE, terraformLock, tfState, withoutStateLine } from './helpers';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const DIGEST_ID = `${BUCKET}/terraform.tfstate-md5`;

/** Terraform wrote serial 2 (and its digest); then someone overwrote the object by hand. */
function overwritten() {
  const aws = fakeAws();
  aws.s3.put(BUCKET, 'terraform.tfstate', tfState(1, 'one'));
  const written = aws.s3.put(BUCKET, 'terraform.tfstate', tfState(2, 'two'));
  aws.dynamodb.putRaw(TABLE, { LockID: { S: DIGEST_ID }, Digest: { S: md5(tfState(2, 'two')) } });
  const edited = aws.s3.put(BUCKET, 'terraform.tfstate', tfState(2, 'edited by hand'));
  return { aws, written, edited };
}

describe('digest', () => {
  test('a match: exit 0', async () => {
    const { aws } = overwritten();
    aws.dynamodb.putRaw(TABLE, { LockID: { S: DIGEST_ID }, Digest: { S: md5(tfState(2, 'edited by hand')) } });
    const r = await run(['digest', 'terraform.tfstate', ...BACKEND_FLAGS], aws);
    expect(r.code).toBe(ExitCode.OK);
    expect(r.out).toContain('The digest matches the state object: Terraform reads this state.');
  });

  test('a mismatch: exit 5, both MD5s side by side, and the version the digest belongs to', async () => {
    const { aws, written, edited } = overwritten();
    const r = await run(['digest', 'terraform.tfstate', ...BACKEND_FLAGS], aws);
    expect(r.code).toBe(ExitCode.MISMATCH);
    const size = Buffer.byteLength(tfState(2, 'edited by hand'));
    expect(r.out).toBe([
      `s3://${BUCKET}/terraform.tfstate`,
      `  state object  MD5 ${md5(tfState(2, 'edited by hand'))}  version ${edited}, 2026-11-26T09:00:03Z, serial 2, ${size} bytes`,
      `  digest item   MD5 ${md5(tfState(2, 'two'))}  LockID "${DIGEST_ID}" in table terraform-lock`,
      '',
      'MISMATCH: Terraform refuses this state ("state data in S3 does not have the expected content").',
      `The digest is the MD5 of version ${written} (2026-11-26T09:00:02Z, serial 2), the last state written with its digest; the current object was written after it without one.`,
      '',
      'If the current object is the state you want: tfstate-ops digest terraform.tfstate --fix --bucket state-bucket --table terraform-lock --region eu-west-1',
      `If the version the digest names is the one you want: tfstate-ops restore terraform.tfstate --version-id ${written} --bucket state-bucket --table terraform-lock --region eu-west-1`,
      '',
    ].join('\n'));
    // The state object is downloaded and hashed, not judged by its ETag.
    expect(aws.s3.calls('GetObjectCommand').length).toBeGreaterThan(0);
  });

  test('--fix rewrites the digest from the object, under the lock, conditioned on the digest read', async () => {
    const { aws } = overwritten();
    let lockDuringFix: string | undefined;
    aws.dynamodb.before('PutItemCommand', (cmd) => {
      if (cmd.input.Item.Digest) lockDuringFix = aws.dynamodb.item(TABLE, `${BUCKET}/terraform.tfstate`)?.Info?.S;
    }, { once: false });
    const r = await run(['digest', 'terraform.tfstate', '--fix', ...BACKEND_FLAGS], aws);
    expect(r.code).toBe(ExitCode.OK);
    expect(aws.dynamodb.item(TABLE, DIGEST_ID)?.Digest?.S).toBe(md5(tfState(2, 'edited by hand')));
    expect(unmarshalLockInfo(lockDuringFix!)).toMatchObject({ Operation: 'tfstate-ops digest --fix', Who: 'runner@ci via tfstate-ops' });
    expect(aws.dynamodb.item(TABLE, `${BUCKET}/terraform.tfstate`)).toBeUndefined();
    const digestPut = aws.dynamodb.calls('PutItemCommand').find((c) => c.input.Item.Digest)!;
    expect(digestPut.input).toEqual({
      TableName: TABLE,
      Item: { LockID: { S: DIGEST_ID }, Digest: { S: md5(tfState(2, 'edited by hand')) } },
      ConditionExpression: 'Digest = :old',
      ExpressionAttributeValues: { ':old': { S: md5(tfState(2, 'two')) } },
    });
    expect(r.out).toContain(`Fixed: the digest is now ${md5(tfState(2, 'edited by hand'))} (the state object's MD5), written under lock `);
    expect((await run(['digest', 'terraform.tfstate', ...BACKEND_FLAGS], aws)).code).toBe(ExitCode.OK);
  });

  test('--fix while someone holds the lock: refused, digest unchanged', async () => {
    const { aws } = overwritten();
    aws.dynamodb.putRaw(TABLE, { LockID: { S: `${BUCKET}/terraform.tfstate` }, Info: { S: terraformLock('held', `${BUCKET}/terraform.tfstate`) } });
    const r = await run(['digest', 'terraform.tfstate', '--fix', ...BACKEND_FLAGS], aws);
    expect(r.code).toBe(ExitCode.REFUSED);
    expect(aws.dynamodb.item(TABLE, DIGEST_ID)?.Digest?.S).toBe(md5(tfState(2, 'two')));
  });

  test('--fix when the digest changes under the lock (a writer without the lock): refused', async () => {
    const { aws } = overwritten();
    aws.dynamodb.before('PutItemCommand', (cmd) => {
      if (cmd.input.Item.Digest) aws.dynamodb.putRaw(TABLE, { LockID: { S: DIGEST_ID }, Digest: { S: '0'.repeat(32) } });
    }, { once: false });
    const r = await run(['digest', 'terraform.tfstate', '--fix', ...BACKEND_FLAGS], aws);
    expect(r.code).toBe(ExitCode.REFUSED);
    expect(r.err).toContain('the digest of terraform.tfstate changed while this tool held the lock');
    expect(aws.dynamodb.item(TABLE, DIGEST_ID)?.Digest?.S).toBe('0'.repeat(32));
    expect(aws.dynamodb.item(TABLE, `${BUCKET}/terraform.tfstate`)).toBeUndefined();
  });

  test('--fix: the digest write met again by the SDK\'s retry (its answer was lost) counts as written', async () => {
    const { aws } = overwritten();
    aws.dynamodb.before('PutItemCommand', (cmd) => {
      // The first attempt lands, its answer is lost; the retry's condition (Digest = :old) fails.
      if (cmd.input.Item.Digest) aws.dynamodb.putRaw(TABLE, cmd.input.Item);
    }, { once: false });
    const r = await run(['digest', 'terraform.tfstate', '--fix', ...BACKEND_FLAGS], aws);
    expect(withoutStateLine(r.err)).toBe('');
    expect(r.code).toBe(ExitCode.OK);
    expect(r.out).toContain(`Fixed: the digest is now ${md5(tfState(2, 'edited by hand'))} (the state object's MD5)`);
    expect(aws.dynamodb.item(TABLE, DIGEST_ID)?.Digest?.S).toBe(md5(tfState(2, 'edited by hand')));
  });

  test('a digest without a state object: exit 5; --fix deletes the digest', async () => {
    const { aws } = overwritten();
    aws.s3.remove(BUCKET, 'terraform.tfstate');
    const r = await run(['digest', 'terraform.tfstate', ...BACKEND_FLAGS], aws);
    expect(r.code).toBe(ExitCode.MISMATCH);
    expect(r.out).toContain('  state object  (none: no current object)');
    expect(r.out).toContain('The digest names a state, but there is no state object: Terraform refuses to read it.');
    const fixed = await run(['digest', 'terraform.tfstate', '--fix', ...BACKEND_FLAGS], aws);
    expect(fixed.code).toBe(ExitCode.OK);
    expect(fixed.out).toContain('Fixed: deleted the digest item (there is no state object)');
    expect(aws.dynamodb.item(TABLE, DIGEST_ID)).toBeUndefined();
  });

  test('no digest, or one that is not an MD5: Terraform does not check; nothing to fix', async () => {
    const aws = fakeAws();
    aws.s3.put(BUCKET, 'terraform.tfstate', tfState(1, 'one'));
    const none = await run(['digest', 'terraform.tfstate', '--fix', ...BACKEND_FLAGS], aws);
    expect(none.code).toBe(ExitCode.OK);
    expect(none.out).toContain('No digest: Terraform reads this state without checking it');
    expect(none.out).toContain('Nothing to fix.');
    aws.dynamodb.putRaw(TABLE, { LockID: { S: DIGEST_ID }, Digest: { S: 'junk' } });
    const junk = await run(['digest', 'terraform.tfstate', ...BACKEND_FLAGS], aws);
    expect(junk.out).toContain('  digest item   "junk" (not an MD5: Terraform ignores it)');
    expect(aws.dynamodb.calls('PutItemCommand').filter((c) => c.input.Item.Digest)).toEqual([]);
  });

  test('neither state nor digest: exit 4', async () => {
    const r = await run(['digest', 'nothing.tfstate', ...BACKEND_FLAGS]);
    expect(r.code).toBe(ExitCode.NOT_FOUND);
    expect(withoutStateLine(r.err)).toBe(`tfstate-ops: no state at s3://${BUCKET}/nothing.tfstate and no digest item "${BUCKET}/nothing.tfstate-md5" in table terraform-lock\n`);
  });

  test('--json', async () => {
    const { aws, written, edited } = overwritten();
    const r = await run(['digest', 'terraform.tfstate', '--json', ...BACKEND_FLAGS], aws);
    expect(JSON.parse(r.out)).toEqual({
      bucket: BUCKET, table: TABLE, statePath: 'terraform.tfstate', status: 'mismatch',
      state: { md5: md5(tfState(2, 'edited by hand')), versionId: edited, lastModified: '2026-11-26T09:00:03.000Z', size: Buffer.byteLength(tfState(2, 'edited by hand')), serial: 2, lineage: expect.any(String) },
      digest: { lockId: DIGEST_ID, value: md5(tfState(2, 'two')), md5: md5(tfState(2, 'two')) },
      digestVersion: { versionId: written, lastModified: '2026-11-26T09:00:02.000Z', serial: 2 },
      fixed: null,
    });
  });
});
