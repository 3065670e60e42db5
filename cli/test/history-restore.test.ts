import { createHash } from 'crypto';
import { ExitCode } from '../src/errors';
import { unmarshalLockInfo } from '../src/lock-info';
import { awsFault, fakeAws } from './fake-aws';
import { BACKEND_FLAGS, BUCKET, LINEAGE, run, TABLE, terraformLock, tfState, withoutStateLine } from './helpers';

const md5 = (s: string | Buffer) => createHash('md5').update(s).digest('hex');
const OTHER_LINEAGE = '11111111-2222-3333-4444-555555555555';

/** Three applies (serials 1-3) of terraform.tfstate, plus keys that share its prefix. */
function backendWithHistory() {
  const aws = fakeAws();
  const v1 = aws.s3.put(BUCKET, 'terraform.tfstate', tfState(1, 'one'), { sse: 'AES256' });
  aws.s3.put(BUCKET, 'terraform.tfstate.backup', 'not the state');
  const v2 = aws.s3.put(BUCKET, 'terraform.tfstate', tfState(2, 'two'), { sse: 'AES256' });
  const v3 = aws.s3.put(BUCKET, 'terraform.tfstate', tfState(3, 'three'), { sse: 'AES256' });
  aws.s3.put(BUCKET, 'terraform.tfstate2', tfState(1, 'x', OTHER_LINEAGE));
  aws.dynamodb.putRaw(TABLE, { LockID: { S: `${BUCKET}/terraform.tfstate-md5` }, Digest: { S: md5(tfState(3, 'three')) } });
  return { aws, v1, v2, v3 };
}

describe('history', () => {
  test('lists the versions of exactly that key, newest first, current marked, with serial, lineage and version', async () => {
    const { aws, v1, v2, v3 } = backendWithHistory();
    const size = (n: number, v: string) => String(Buffer.byteLength(tfState(n, v)));
    const r = await run(['history', 'terraform.tfstate', ...BACKEND_FLAGS], aws);
    expect(r).toEqual({
      code: ExitCode.OK,
      err: `tfstate-ops: state s3://${BUCKET}/terraform.tfstate (key: the argument)\n`,
      out: `s3://${BUCKET}/terraform.tfstate\n\n`
        + '   VERSION ID  LAST MODIFIED         SIZE  SERIAL  LINEAGE                               TERRAFORM\n'
        + `*  ${v3}       2026-11-26T09:00:04Z  ${size(3, 'three')}   3       ${LINEAGE}  1.11.4\n`
        + `   ${v2}       2026-11-26T09:00:03Z  ${size(2, 'two')}   2       ${LINEAGE}  1.11.4\n`
        + `   ${v1}       2026-11-26T09:00:01Z  ${size(1, 'one')}   1       ${LINEAGE}  1.11.4\n`
        + '\n* current. Restore a version with: tfstate-ops restore terraform.tfstate --version-id <VERSION ID> --bucket state-bucket --table terraform-lock --region eu-west-1\n',
    });
  });

  test('a workspace, a limit, delete markers, JSON', async () => {
    const aws = fakeAws();
    const key = 'env:/staging/net.tfstate';
    aws.s3.put(BUCKET, key, tfState(1, 'a'));
    aws.s3.put(BUCKET, key, tfState(2, 'b'));
    aws.s3.remove(BUCKET, key);
    const r = await run(['history', 'net.tfstate', '--workspace', 'staging', '--limit', '2', '--json', ...BACKEND_FLAGS], aws);
    expect(r.code).toBe(ExitCode.OK);
    expect(JSON.parse(r.out)).toEqual({
      bucket: BUCKET,
      statePath: key,
      more: true,
      versions: [
        { versionId: 'v0003', current: true, deleteMarker: true, lastModified: '2026-11-26T09:00:03.000Z', size: null, md5: null, serial: null, lineage: null, terraformVersion: null },
        { versionId: 'v0002', current: false, deleteMarker: false, lastModified: '2026-11-26T09:00:02.000Z', size: Buffer.byteLength(tfState(2, 'b')), md5: md5(tfState(2, 'b')), serial: 2, lineage: LINEAGE, terraformVersion: '1.11.4' },
      ],
    });
    const text = await run(['history', 'net.tfstate', '--workspace', 'staging', ...BACKEND_FLAGS], aws);
    expect(text.out).toContain('*  v0003       2026-11-26T09:00:03Z  (deleted)');
    expect(text.out).toContain('The current version is a delete marker: the state is deleted.');
  });

  test('a workspace on a backend with an empty workspace_key_prefix: <workspace>/<key>, as Terraform builds it', async () => {
    const aws = fakeAws();
    aws.s3.put(BUCKET, 'staging/net.tfstate', tfState(1, 'a'));
    const flag = await run(['history', 'net.tfstate', '--workspace', 'staging', '--workspace-key-prefix', '', '--json', ...BACKEND_FLAGS], aws);
    expect({ code: flag.code, err: flag.err }).toMatchObject({ code: ExitCode.OK });
    expect(JSON.parse(flag.out)).toMatchObject({ statePath: 'staging/net.tfstate', versions: [{ serial: 1 }] });
    const file = `bucket = "${BUCKET}"\nkey = "net.tfstate"\ndynamodb_table = "${TABLE}"\nworkspace_key_prefix = ""\n`;
    const fromFile = await run(['history', '--workspace', 'staging', '--backend-config', 'backend.hcl', '--json'], aws, { 'backend.hcl': file });
    expect(fromFile.code).toBe(ExitCode.OK);
    expect(JSON.parse(fromFile.out)).toMatchObject({ statePath: 'staging/net.tfstate' });
  });

  test('pages through versions of other keys', async () => {
    const aws = fakeAws();
    aws.s3.pageSize = 2;
    for (let i = 1; i <= 3; i++) aws.s3.put(BUCKET, 'a.tfstate', tfState(i, String(i)));
    for (let i = 1; i <= 5; i++) aws.s3.put(BUCKET, 'a.tfstate.old', 'x');
    const r = await run(['history', 'a.tfstate', '--json', ...BACKEND_FLAGS], aws);
    expect(JSON.parse(r.out).versions.map((v: { serial: number }) => v.serial)).toEqual([3, 2, 1]);
    // Stopped once the listing was past the key.
    expect(aws.s3.calls('ListObjectVersionsCommand').length).toBe(2);
  });

  test('no such key: exit 4, naming the keys that share the prefix', async () => {
    const { aws } = backendWithHistory();
    const r = await run(['history', 'terraform', ...BACKEND_FLAGS], aws);
    expect(r.code).toBe(ExitCode.NOT_FOUND);
    expect(withoutStateLine(r.err)).toBe(`tfstate-ops: no state at s3://${BUCKET}/terraform (no versions of that key). Keys under that prefix: terraform.tfstate, terraform.tfstate.backup, terraform.tfstate2.\n`);
  });
});

describe('restore', () => {
  test('takes the lock as Terraform does, writes the version with the next serial, the digest, and releases the lock', async () => {
    const { aws, v1, v3 } = backendWithHistory();
    let lockDuringWrite: string | undefined;
    aws.s3.before('PutObjectCommand', () => { lockDuringWrite = aws.dynamodb.item(TABLE, `${BUCKET}/terraform.tfstate`)?.Info?.S; });
    const r = await run(['restore', 'terraform.tfstate', '--version-id', v1, '--encrypt', ...BACKEND_FLAGS], aws);
    expect(withoutStateLine(r.err)).toBe('');
    expect(r.code).toBe(ExitCode.OK);

    const expected = tfState(1, 'one').replace('"serial": 1,', '"serial": 4,');
    const current = aws.s3.current(BUCKET, 'terraform.tfstate')!;
    expect(current.body!.toString()).toBe(expected);
    expect(current).toMatchObject({ sse: 'AES256', kmsKeyId: undefined, contentType: 'application/json' });
    expect(aws.dynamodb.item(TABLE, `${BUCKET}/terraform.tfstate-md5`)).toEqual({ LockID: { S: `${BUCKET}/terraform.tfstate-md5` }, Digest: { S: md5(expected) } });
    expect(r.out).toBe([
      `Restored s3://${BUCKET}/terraform.tfstate to version ${v1}`,
      `  restored:  serial 1 (version ${v1}), lineage ${LINEAGE}`,
      `  replaced:  version ${v3}, serial 3, lineage ${LINEAGE}`,
      `  written:   version ${current.versionId}, serial 4, ${expected.length} bytes, MD5 ${md5(expected)}, AES256`,
      `  digest:    ${BUCKET}/terraform.tfstate-md5 = ${md5(expected)}`,
      `  lock:      ${unmarshalLockInfo(lockDuringWrite!).ID} taken and released`,
      '',
    ].join('\n'));

    // The lock: Terraform's conditional put, Go-identical JSON, naming this tool; released conditionally.
    const lock = unmarshalLockInfo(lockDuringWrite!);
    expect(lock).toMatchObject({ Operation: 'tfstate-ops restore', Who: 'runner@ci via tfstate-ops', Path: `${BUCKET}/terraform.tfstate`, Info: `restoring version ${v1} of s3://${BUCKET}/terraform.tfstate` });
    const put = aws.dynamodb.calls('PutItemCommand')[0].input;
    expect(put).toEqual({ TableName: TABLE, Item: { LockID: { S: `${BUCKET}/terraform.tfstate` }, Info: { S: lockDuringWrite } }, ConditionExpression: 'attribute_not_exists(LockID)' });
    expect(aws.dynamodb.calls('DeleteItemCommand')[0].input).toMatchObject({ ConditionExpression: 'Info = :info', ExpressionAttributeValues: { ':info': { S: lockDuringWrite } } });
    expect(aws.dynamodb.item(TABLE, `${BUCKET}/terraform.tfstate`)).toBeUndefined();
    // The write is conditioned on the version it replaces.
    expect(aws.s3.calls('PutObjectCommand')[0].input).toMatchObject({ IfMatch: aws.s3.versionsOf(BUCKET, 'terraform.tfstate')[2].etag });
  });

  test('--keep-serial writes the version\'s exact bytes; KMS encryption as the backend names it', async () => {
    const { aws, v2 } = backendWithHistory();
    const files = { 'backend.hcl': `bucket = "${BUCKET}"\nkey = "terraform.tfstate"\ndynamodb_table = "${TABLE}"\nencrypt = true\nkms_key_id = "arn:aws:kms:eu-west-1:123456789012:key/k"\n` };
    const r = await run(['restore', '--version-id', v2, '--keep-serial', '--backend-config', 'backend.hcl'], aws, files);
    expect(r.code).toBe(ExitCode.OK);
    expect(aws.s3.current(BUCKET, 'terraform.tfstate')).toMatchObject({ body: Buffer.from(tfState(2, 'two')), sse: 'aws:kms', kmsKeyId: 'arn:aws:kms:eu-west-1:123456789012:key/k' });
    expect(aws.dynamodb.item(TABLE, `${BUCKET}/terraform.tfstate-md5`)?.Digest?.S).toBe(md5(tfState(2, 'two')));
  });

  test('without encrypt, no encryption header (the bucket default applies), as Terraform', async () => {
    const { aws, v2 } = backendWithHistory();
    await run(['restore', 'terraform.tfstate', '--version-id', v2, ...BACKEND_FLAGS], aws);
    const input = aws.s3.calls('PutObjectCommand')[0].input;
    expect(input.ServerSideEncryption).toBeUndefined();
    expect(input.SSEKMSKeyId).toBeUndefined();
  });

  test('a held lock is refused (exit 3): nothing written, the holder named, its lock kept', async () => {
    const { aws, v1 } = backendWithHistory();
    const holder = terraformLock('aaaaaaaa-0000-0000-0000-000000000000', `${BUCKET}/terraform.tfstate`, '2026-11-26T11:59:00Z');
    aws.dynamodb.putRaw(TABLE, { LockID: { S: `${BUCKET}/terraform.tfstate` }, Info: { S: holder } });
    const r = await run(['restore', 'terraform.tfstate', '--version-id', v1, ...BACKEND_FLAGS], aws);
    expect(r.code).toBe(ExitCode.REFUSED);
    expect(withoutStateLine(r.err)).toBe('tfstate-ops: the state terraform.tfstate is locked; nothing was changed:\n'
      + `  Lock:      item LockID="${BUCKET}/terraform.tfstate" in table terraform-lock\n`
      + '  ID:        aaaaaaaa-0000-0000-0000-000000000000\n'
      + `  Path:      ${BUCKET}/terraform.tfstate\n`
      + '  Operation: OperationTypeApply (apply)\n'
      + '  Who:       alice@laptop\n'
      + '  Version:   1.11.4\n'
      + '  Created:   2026-11-26T11:59:00Z (1m00s ago)\n'
      + 'Wait until it is released; if it is stale, remove it with: '
      + 'tfstate-ops unlock terraform.tfstate --id aaaaaaaa-0000-0000-0000-000000000000 --bucket state-bucket --table terraform-lock --region eu-west-1\n');
    expect(aws.s3.calls('PutObjectCommand')).toEqual([]);
    expect(aws.dynamodb.item(TABLE, `${BUCKET}/terraform.tfstate`)?.Info?.S).toBe(holder);
  });

  test('with lock files: the lock file first (If-None-Match: *, encrypted like state), then the item; a held item releases the file', async () => {
    const { aws, v1 } = backendWithHistory();
    aws.dynamodb.putRaw(TABLE, { LockID: { S: `${BUCKET}/terraform.tfstate` }, Info: { S: terraformLock('held', `${BUCKET}/terraform.tfstate`) } });
    const r = await run(['restore', 'terraform.tfstate', '--version-id', v1, '--lockfile', '--encrypt', ...BACKEND_FLAGS], aws);
    expect(r.code).toBe(ExitCode.REFUSED);
    const [lockPut] = aws.s3.calls('PutObjectCommand');
    expect(lockPut.input).toMatchObject({ Key: 'terraform.tfstate.tflock', IfNoneMatch: '*', ServerSideEncryption: 'AES256', ContentType: 'application/json' });
    expect(unmarshalLockInfo(lockPut.input.Body).Path).toBe(`${BUCKET}/terraform.tfstate`);
    expect(aws.s3.current(BUCKET, 'terraform.tfstate.tflock')).toBeUndefined();
    expect(aws.s3.calls('DeleteObjectCommand')[0].input).toMatchObject({ Key: 'terraform.tfstate.tflock', IfMatch: expect.stringMatching(/^"[0-9a-f]{32}"$/) });
    expect(aws.s3.current(BUCKET, 'terraform.tfstate')!.body!.toString()).toBe(tfState(3, 'three'));
  });

  test('with lock files only: a held lock file is refused; a free one is taken and released', async () => {
    const { aws, v1 } = backendWithHistory();
    aws.s3.put(BUCKET, 'terraform.tfstate.tflock', terraformLock('held', `${BUCKET}/terraform.tfstate`));
    const flags = ['--bucket', BUCKET, '--lockfile'];
    expect((await run(['restore', 'terraform.tfstate', '--version-id', v1, ...flags], aws)).code).toBe(ExitCode.REFUSED);
    aws.s3.remove(BUCKET, 'terraform.tfstate.tflock');
    const r = await run(['restore', 'terraform.tfstate', '--version-id', v1, ...flags], aws);
    expect(r.code).toBe(ExitCode.OK);
    expect(r.out).toContain('  digest:    none (the backend has no lock table)');
    expect(aws.s3.current(BUCKET, 'terraform.tfstate.tflock')).toBeUndefined();
    expect(aws.s3.current(BUCKET, 'terraform.tfstate')!.body!.toString()).toContain('"serial": 4,');
  });

  test('this tool\'s own lock met again (a retried write whose answer was lost) counts as taken', async () => {
    const { aws, v1 } = backendWithHistory();
    aws.dynamodb.before('PutItemCommand', async (cmd) => {
      // The first attempt lands, its answer is lost; the SDK's retry meets it.
      aws.dynamodb.putRaw(TABLE, cmd.input.Item);
    });
    const r = await run(['restore', 'terraform.tfstate', '--version-id', v1, ...BACKEND_FLAGS], aws);
    expect(r.code).toBe(ExitCode.OK);
    expect(aws.dynamodb.item(TABLE, `${BUCKET}/terraform.tfstate`)).toBeUndefined();
  });

  test('the state write met again by the SDK\'s retry (its answer was lost) counts as written: digest written, exit 0', async () => {
    const { aws, v1 } = backendWithHistory();
    let landed = '';
    aws.s3.before('PutObjectCommand', (cmd) => {
      // The first attempt lands, its answer is lost; the retry's If-Match meets the new ETag (412).
      if (cmd.input.Key === 'terraform.tfstate') landed = aws.s3.put(BUCKET, 'terraform.tfstate', cmd.input.Body, { sse: cmd.input.ServerSideEncryption });
    });
    const r = await run(['restore', 'terraform.tfstate', '--version-id', v1, ...BACKEND_FLAGS], aws);
    expect(withoutStateLine(r.err)).toBe('');
    expect(r.code).toBe(ExitCode.OK);
    const state = aws.s3.current(BUCKET, 'terraform.tfstate')!;
    expect(state.versionId).toBe(landed);
    expect(state.body!.toString()).toBe(tfState(1, 'one').replace('"serial": 1,', '"serial": 4,'));
    expect(r.out).toContain(`  written:   version ${landed}, serial 4,`);
    expect(aws.dynamodb.item(TABLE, `${BUCKET}/terraform.tfstate-md5`)?.Digest?.S).toBe(md5(state.body!));
    expect(aws.dynamodb.item(TABLE, `${BUCKET}/terraform.tfstate`)).toBeUndefined();
  });

  test('its lock release met again by the SDK\'s retry (its answer was lost) counts as released: exit 0', async () => {
    const { aws, v1 } = backendWithHistory();
    aws.dynamodb.before('DeleteItemCommand', (cmd) => {
      // The first attempt deletes the item, its answer is lost; the retry's condition fails.
      aws.dynamodb.deleteRaw(TABLE, cmd.input.Key.LockID.S);
      throw Object.assign(awsFault('ConditionalCheckFailedException', 400, 'The conditional request failed'), { $metadata: { httpStatusCode: 400, attempts: 2 } });
    });
    const r = await run(['restore', 'terraform.tfstate', '--version-id', v1, ...BACKEND_FLAGS], aws);
    expect(withoutStateLine(r.err)).toBe('');
    expect(r.code).toBe(ExitCode.OK);
    expect(aws.dynamodb.item(TABLE, `${BUCKET}/terraform.tfstate`)).toBeUndefined();
  });

  test('a lock removed by someone else while it held it (no retry involved) is still reported: exit 1 after the restore', async () => {
    const { aws, v1 } = backendWithHistory();
    aws.dynamodb.before('DeleteItemCommand', (cmd) => {
      aws.dynamodb.deleteRaw(TABLE, cmd.input.Key.LockID.S);
    });
    const r = await run(['restore', 'terraform.tfstate', '--version-id', v1, ...BACKEND_FLAGS], aws);
    expect(r.code).toBe(ExitCode.FAILURE);
    expect(r.err).toMatch(/the restore was done, but: this tool's lock item on terraform\.tfstate \(ID [0-9a-f-]{36}\) was removed by someone else while it held it/);
  });

  test('another lineage is refused unless --allow-other-lineage; its serial is kept', async () => {
    const { aws } = backendWithHistory();
    const other = aws.s3.put(BUCKET, 'terraform.tfstate', tfState(7, 'other', OTHER_LINEAGE));
    aws.s3.put(BUCKET, 'terraform.tfstate', tfState(4, 'four'));
    const refused = await run(['restore', 'terraform.tfstate', '--version-id', other, ...BACKEND_FLAGS], aws);
    expect(refused.code).toBe(ExitCode.REFUSED);
    expect(withoutStateLine(refused.err)).toBe(`tfstate-ops: version ${other} has lineage ${OTHER_LINEAGE}, the current state ${LINEAGE}: they are the states of different `
      + 'configurations (or of a state created again); nothing was written. Pass --allow-other-lineage to restore it anyway.\n');
    expect(aws.s3.current(BUCKET, 'terraform.tfstate')!.body!.toString()).toBe(tfState(4, 'four'));
    expect(aws.dynamodb.item(TABLE, `${BUCKET}/terraform.tfstate`)).toBeUndefined();

    const allowed = await run(['restore', 'terraform.tfstate', '--version-id', other, '--allow-other-lineage', ...BACKEND_FLAGS], aws);
    expect(allowed.code).toBe(ExitCode.OK);
    expect(aws.s3.current(BUCKET, 'terraform.tfstate')!.body!.toString()).toBe(tfState(7, 'other', OTHER_LINEAGE));
  });

  test('a state written behind the lock during the restore is not overwritten (exit 3)', async () => {
    const { aws, v1 } = backendWithHistory();
    aws.s3.before('PutObjectCommand', (cmd) => {
      if (cmd.input.Key === 'terraform.tfstate') aws.s3.put(BUCKET, 'terraform.tfstate', tfState(4, 'sneaky'));
    });
    const r = await run(['restore', 'terraform.tfstate', '--version-id', v1, ...BACKEND_FLAGS], aws);
    expect(r.code).toBe(ExitCode.REFUSED);
    expect(r.err).toContain(`s3://${BUCKET}/terraform.tfstate changed while this tool held its lock (someone writes without the lock?); nothing was written.`);
    expect(aws.s3.current(BUCKET, 'terraform.tfstate')!.body!.toString()).toBe(tfState(4, 'sneaky'));
    expect(aws.dynamodb.item(TABLE, `${BUCKET}/terraform.tfstate`)).toBeUndefined();
  });

  test('no current state: written as it is, with If-None-Match: *', async () => {
    const aws = fakeAws();
    const v = aws.s3.put(BUCKET, 'k', tfState(5, 'x'));
    aws.s3.remove(BUCKET, 'k');
    const r = await run(['restore', 'k', '--version-id', v, ...BACKEND_FLAGS], aws);
    expect(r.code).toBe(ExitCode.OK);
    expect(r.out).toContain('  replaced:  no current state');
    expect(aws.s3.calls('PutObjectCommand').find((c) => c.input.Key === 'k')!.input).toMatchObject({ IfNoneMatch: '*' });
    expect(aws.s3.current(BUCKET, 'k')!.body!.toString()).toBe(tfState(5, 'x'));
  });

  test('the current version: nothing written', async () => {
    const { aws, v3 } = backendWithHistory();
    const r = await run(['restore', 'terraform.tfstate', '--version-id', v3, ...BACKEND_FLAGS], aws);
    expect(r).toMatchObject({ code: ExitCode.OK, out: `Version ${v3} is already the current state of s3://${BUCKET}/terraform.tfstate; nothing was written.\n` });
    expect(aws.s3.calls('PutObjectCommand')).toEqual([]);
  });

  test('an unknown version (4), a delete marker (3), not a state (3): nothing written, lock released', async () => {
    const { aws } = backendWithHistory();
    const garbage = aws.s3.put(BUCKET, 'terraform.tfstate', 'garbage');
    aws.s3.remove(BUCKET, 'terraform.tfstate');
    const marker = aws.s3.versionsOf(BUCKET, 'terraform.tfstate').at(-1)!.versionId;
    const cases: Array<[string, number, string]> = [
      ['nope', ExitCode.NOT_FOUND, `version nope of s3://${BUCKET}/terraform.tfstate not found. See the versions with: tfstate-ops history terraform.tfstate`],
      [marker, ExitCode.REFUSED, `version ${marker} of s3://${BUCKET}/terraform.tfstate is a delete marker, not an object`],
      [garbage, ExitCode.REFUSED, `version ${garbage} of s3://${BUCKET}/terraform.tfstate is not a Terraform state (not JSON`],
    ];
    for (const [version, code, message] of cases) {
      const r = await run(['restore', 'terraform.tfstate', '--version-id', version, ...BACKEND_FLAGS], aws);
      expect({ code: r.code, err: r.err }).toEqual({ code, err: expect.stringContaining(message) });
      expect(aws.dynamodb.item(TABLE, `${BUCKET}/terraform.tfstate`)).toBeUndefined();
    }
    expect(aws.s3.calls('PutObjectCommand')).toEqual([]);
  });

  test('a digest that cannot be written: the state is put back as it was, exit 1, saying so', async () => {
    const { aws, v1 } = backendWithHistory();
    const before = aws.s3.current(BUCKET, 'terraform.tfstate')!;
    const digest = aws.dynamodb.item(TABLE, `${BUCKET}/terraform.tfstate-md5`);
    aws.dynamodb.before('PutItemCommand', (cmd) => {
      if (cmd.input.Item.Digest) throw Object.assign(new Error('Throughput exceeds the current capacity'), { name: 'ProvisionedThroughputExceededException' });
    }, { once: false });
    const r = await run(['restore', 'terraform.tfstate', '--version-id', v1, ...BACKEND_FLAGS], aws);
    expect(r.code).toBe(ExitCode.FAILURE);
    expect(withoutStateLine(r.err)).toMatch(new RegExp('^tfstate-ops: the digest of s3://state-bucket/terraform.tfstate could not be written \\(dynamodb:PutItem .*'
      + `ProvisionedThroughputExceededException.*\\), so the restore was undone: the state's bytes are those of version ${before.versionId} again \\(written as `
      + 'version v0007\\), and its digest is as it was. Nothing was restored: the state and its digest are as they were, and this tool\'s lock [0-9a-f-]+ was released.\n$'));
    expect(aws.s3.current(BUCKET, 'terraform.tfstate')!.body).toEqual(before.body);
    expect(aws.dynamodb.item(TABLE, `${BUCKET}/terraform.tfstate-md5`)).toEqual(digest);
    expect(aws.dynamodb.item(TABLE, `${BUCKET}/terraform.tfstate`)).toBeUndefined();
  });

  test('a digest that cannot be written, and a state that cannot be put back: exit 1, saying the state was restored and how to fix the digest', async () => {
    const { aws, v1 } = backendWithHistory();
    aws.dynamodb.before('PutItemCommand', (cmd) => {
      if (cmd.input.Item.Digest) throw Object.assign(new Error('Throughput exceeds the current capacity'), { name: 'ProvisionedThroughputExceededException' });
    }, { once: false });
    let puts = 0;
    aws.s3.before('PutObjectCommand', () => {
      if (++puts === 2) throw awsFault('SlowDown', 503, 'Please reduce your request rate.');
    }, { once: false });
    const r = await run(['restore', 'terraform.tfstate', '--version-id', v1, ...BACKEND_FLAGS], aws);
    expect(r.code).toBe(ExitCode.FAILURE);
    expect(r.err).toContain('was restored (new version v0006), but its digest was not written, so Terraform will refuse it until it is');
    expect(r.err).toContain('Undoing the restore failed too (s3:PutObject on arn:aws:s3:::state-bucket/terraform.tfstate failed (SlowDown');
    expect(r.err).toContain('Fix it with: tfstate-ops digest terraform.tfstate --fix --bucket state-bucket --table terraform-lock --region eu-west-1');
    expect(aws.dynamodb.item(TABLE, `${BUCKET}/terraform.tfstate`)).toBeUndefined();
  });

  test('--json', async () => {
    const { aws, v1, v3 } = backendWithHistory();
    const r = await run(['restore', 'terraform.tfstate', '--version-id', v1, '--json', ...BACKEND_FLAGS], aws);
    expect(JSON.parse(r.out)).toEqual({
      bucket: BUCKET, statePath: 'terraform.tfstate', versionId: v1, unchanged: false, lineage: LINEAGE, restoredSerial: 1, serial: 4,
      replacedVersionId: v3, replacedSerial: 3, replacedLineage: LINEAGE, newVersionId: 'v0006', size: expect.any(Number), md5: expect.stringMatching(/^[0-9a-f]{32}$/),
      encryption: null, digestItem: `${BUCKET}/terraform.tfstate-md5`, lockId: expect.any(String),
    });
  });
});
