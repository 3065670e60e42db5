/**
 * Every command that acts on one state names it first, on stderr, with where its key came
 * from: with --backend-config the file's key is the default, and a directory initialised
 * with another key (-backend-config="key=...") would otherwise get another state's answer.
 */
import { ExitCode } from '../src/errors';
import { fakeAws } from './fake-aws';
import { BACKEND_FLAGS, BUCKET, run, TABLE, tfState } from './helpers';

const FILE = `bucket = "${BUCKET}"\nkey = "network/terraform.tfstate"\nregion = "eu-west-1"\ndynamodb_table = "${TABLE}"\n`;

function states() {
  const aws = fakeAws();
  aws.s3.put(BUCKET, 'network/terraform.tfstate', tfState(1, 'network'));
  aws.s3.put(BUCKET, 'app/terraform.tfstate', tfState(1, 'app'));
  aws.s3.put(BUCKET, 'env:/staging/app/terraform.tfstate', tfState(1, 'staging'));
  return aws;
}

test('the key from the backend file: said so, and how to pick another state', async () => {
  const r = await run(['history', '--backend-config', 'backend.hcl'], states(), { 'backend.hcl': FILE });
  expect(r.code).toBe(ExitCode.OK);
  expect(r.err).toBe(`tfstate-ops: state s3://${BUCKET}/network/terraform.tfstate (key from backend.hcl; pass <key> for another state)\n`);
});

test('the key given: the argument; a workspace: from --workspace, under the prefix', async () => {
  const aws = states();
  const given = await run(['history', 'app/terraform.tfstate', '--backend-config', 'backend.hcl'], aws, { 'backend.hcl': FILE });
  expect(given.err).toBe(`tfstate-ops: state s3://${BUCKET}/app/terraform.tfstate (key: the argument)\n`);
  const ws = await run(['digest', 'app/terraform.tfstate', '--workspace', 'staging', ...BACKEND_FLAGS], aws);
  expect(ws.err.split('\n')[0]).toBe(`tfstate-ops: state s3://${BUCKET}/env:/staging/app/terraform.tfstate `
    + '(key: the argument, workspace staging from --workspace under workspace_key_prefix "env:")');
});

test('restore names it before it takes the lock', async () => {
  const aws = states();
  const v = aws.s3.versionsOf(BUCKET, 'app/terraform.tfstate')[0].versionId;
  aws.s3.put(BUCKET, 'app/terraform.tfstate', tfState(2, 'app'));
  const r = await run(['restore', 'app/terraform.tfstate', '--version-id', v, ...BACKEND_FLAGS], aws);
  expect(r.code).toBe(ExitCode.OK);
  expect(r.err).toBe(`tfstate-ops: state s3://${BUCKET}/app/terraform.tfstate (key: the argument)\n`);
});

test('with --json, stdout stays one JSON document', async () => {
  const r = await run(['history', '--backend-config', 'backend.hcl', '--json'], states(), { 'backend.hcl': FILE });
  expect(JSON.parse(r.out)).toMatchObject({ statePath: 'network/terraform.tfstate' });
  expect(r.err).toContain('tfstate-ops: state s3://');
});

test('a backend file without a key: named, with the command to pass one', async () => {
  const r = await run(['history', '--backend-config', 'backend.hcl'], states(), { 'backend.hcl': FILE.replace(/^key = .*\n/m, '') });
  expect(r).toEqual({
    code: ExitCode.USAGE,
    out: '',
    err: 'tfstate-ops: history needs the state key: backend.hcl sets no `key`; pass it: tfstate-ops history <key>\n',
  });
});
