import { main } from '../src/main';
import { FakeAws, fakeAws } from './fake-aws';

export const BUCKET = 'state-bucket';
export const TABLE = 'terraform-lock';
export const NOW = new Date('2026-11-26T12:00:00Z');
export const LINEAGE = 'eef36893-471b-48ed-1081-8aa817ba6302';

export interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs tfstate-ops in-process on the fake AWS, at NOW, as runner@ci. */
export async function run(
  argv: string[], aws: FakeAws = fakeAws(), files: Record<string, string> = {}, env: Record<string, string> = {},
): Promise<Run> {
  let out = '';
  let err = '';
  const code = await main(argv, {
    stdout: (t) => { out += t; },
    stderr: (t) => { err += t; },
    env,
    now: () => NOW,
    who: 'runner@ci',
    clients: aws.clients,
    readFile: (f) => {
      if (!(f in files)) {
        throw Object.assign(new Error(`ENOENT: no such file or directory, open '${f}'`), { code: 'ENOENT' });
      }
      return files[f];
    },
  });
  return { code, out, err };
}

/** A state file as Terraform writes it (json.MarshalIndent, two spaces, trailing newline). */
export function tfState(serial: number, value: string, lineage = LINEAGE): string {
  return `{
  "version": 4,
  "terraform_version": "1.11.4",
  "serial": ${serial},
  "lineage": "${lineage}",
  "outputs": {
    "v": {
      "value": "${value}",
      "type": "string"
    }
  },
  "resources": [
    {
      "mode": "managed",
      "type": "terraform_data",
      "name": "app",
      "provider": "provider[\\"terraform.io/builtin/terraform\\"]",
      "instances": [
        {
          "schema_version": 0,
          "attributes": {
            "id": "2eaade95-43e4-0992-5e6e-93c55b86ace6",
            "input": { "value": "${value}", "type": "string" },
            "serial": 99
          }
        }
      ]
    }
  ],
  "check_results": null
}
`;
}

/** LockInfo JSON as Terraform 1.11.4 writes it. */
export function terraformLock(id: string, path: string, created = '2026-11-26T09:59:30.123456789Z', operation = 'OperationTypeApply'): string {
  return `{"ID":"${id}","Operation":"${operation}","Info":"","Who":"alice@laptop","Version":"1.11.4","Created":"${created}","Path":"${path}"}`;
}

export const BACKEND_FLAGS = ['--bucket', BUCKET, '--table', TABLE, '--region', 'eu-west-1'];

/** A backend with both kinds of lock (dynamodb_table and use_lockfile = true). */
export const BOTH_FLAGS = [...BACKEND_FLAGS, '--lockfile'];

/** stderr without the line naming the state a command acts on (`tfstate-ops: state s3://...`). */
export function withoutStateLine(err: string): string {
  return err.replace(/^tfstate-ops: state s3:\/\/.*\n/m, '');
}
