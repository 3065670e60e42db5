/**
 * `terraform fmt -check` (the binary from the machine image) on every rendered block
 * and partial config file: each locking mode with each encryption, with and without
 * `workspaceKeyPrefix`. One terraform process for all files. The promise is that the
 * emitted text is exactly what `terraform fmt` prints.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib/core';
import { LockingMode, StateEncryption, TerraformStateBackendStack } from '../lib';
import { evaluateInStack } from './support/cfn-eval';
import { describeWithTools } from './support/tools';

const ENV = { account: '123456789012', region: 'eu-west-1' };
const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** Every combination's block (`.tf`) and config file (`.tfvars`: fmt checks only .tf, .tfvars and .tftest.hcl). */
function rendered(): Record<string, string> {
  const app = new App();
  const out: Record<string, string> = {};
  for (const locking of Object.values(LockingMode)) {
    for (const encryption of Object.values(StateEncryption)) {
      for (const workspaceKeyPrefix of [undefined, 'workspaces']) {
        const name = `${locking}-${encryption}${workspaceKeyPrefix ? '-prefix' : ''}`;
        const stack = new TerraformStateBackendStack(app, name.replace(/_/g, ''), { env: ENV, backend: { locking, encryption, workspaceKeyPrefix } });
        // A new key's ARN is known only after deployment: put a real-looking one in its place.
        const values = { pseudo: {}, getAtt: () => KEY_ARN };
        out[`${name}.block.tf`] = evaluateInStack(stack, stack.backend.renderBackendBlock(), values);
        out[`${name}.config.tfvars`] = evaluateInStack(stack, stack.backend.renderBackendConfigFile(), values);
      }
    }
  }
  return out;
}

/** A file fmt must list: proves the check looks at what it is given. */
const CONTROL = { name: 'control.tfvars', text: 'bucket="x"\nkey = "y"\n' };

describeWithTools(['terraform'], 'terraform fmt -check', () => {
  let dir: string;
  let files: Record<string, string>;
  let result: { status: number | null; stdout: string; stderr: string };

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'terraform-fmt-'));
    files = rendered();
    for (const [name, text] of Object.entries({ ...files, [CONTROL.name]: CONTROL.text })) fs.writeFileSync(path.join(dir, name), text);
    const env: NodeJS.ProcessEnv = { ...process.env, CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: path.join(dir, 'empty.tfrc') };
    fs.writeFileSync(env.TF_CLI_CONFIG_FILE!, '');
    const r = spawnSync('terraform', ['fmt', '-check', '-list=true', '-no-color', dir], { encoding: 'utf8', env });
    if (r.error) throw r.error;
    result = { status: r.status, stdout: r.stdout, stderr: r.stderr };
  });

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('renders 36 files: 3 locking modes x 3 encryptions x with and without workspaceKeyPrefix, block and config file', () => {
    expect(Object.keys(files)).toHaveLength(36);
    expect(files['S3_LOCKFILE-KMS-prefix.block.tf']).toContain(`kms_key_id           = "${KEY_ARN}"`);
    expect(files['DYNAMODB_AND_S3_LOCKFILE-KMS_MANAGED-prefix.config.tfvars']).toContain('workspace_key_prefix = "workspaces"');
  });

  test('fmt finds nothing to change in them (and does list the misformatted control file)', () => {
    expect(result.stderr).toBe('');
    // Exit 3: some file needs formatting; that must be the control file alone.
    expect(result.status).toBe(3);
    expect(result.stdout.trim().split('\n').map((f) => path.basename(f))).toEqual([CONTROL.name]);
  });
});
