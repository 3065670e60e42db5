/**
 * Runs tfstate-ops, the state-operations tool of the cli/ workspace, against an emulator:
 *
 * - as users run it: `node cli/bin/tfstate-ops.js ARGS` (the package's bin, which loads
 *   cli/dist: `npm run build:cli`, which `npm test` runs first), with the emulator's
 *   endpoint and throw-away credentials in its environment, nothing else of ours;
 * - in this process through `main(argv, io)`, with a clock and a `who` of the test's
 *   choosing, and SDK clients made here for the emulator (the SDK's credential chain
 *   reads this process's environment, which is not the tool's to use). A `StateWriteGate`
 *   can hold such a run inside its locked section.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { ClientFactory, ClientOptions, main } from '../../cli/src';
import { E2E_REGION, emulatorEnv, REPO_ROOT } from './cdk-cli';
import { runProcess } from './processes';

/** The command users run (cli/package.json `bin`). */
export const TFSTATE_OPS_BIN = path.join(REPO_ROOT, 'cli', 'bin', 'tfstate-ops.js');

/** What one run of the tool did. */
export interface ToolRun {
  /** `bin`: the real command in a child process; `main`: main(argv, io) in this process. */
  readonly via: 'bin' | 'main';
  readonly argv: readonly string[];
  /** The exit code (null: the bin was killed). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly startedAt: number;
  readonly endedAt: number;
}

/** The run as a failed expectation shows it. */
export function describeToolRun(r: ToolRun): string {
  return `$ tfstate-ops ${r.argv.join(' ')}   [${r.via}]\n(exit ${r.code} after ${r.endedAt - r.startedAt} ms)\n`
    + `--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

/** Throws with the run's output unless it exited with `code` (default 0). */
export function mustExit(r: ToolRun, code = 0): ToolRun {
  if (r.code !== code) throw new Error(`expected exit ${code}\n${describeToolRun(r)}`);
  return r;
}

/** `node cli/bin/tfstate-ops.js argv` against the emulator at `endpoint`. */
export async function tfstateOpsBin(argv: readonly string[], endpoint: string): Promise<ToolRun> {
  const r = await runProcess(process.execPath, [TFSTATE_OPS_BIN, ...argv], { cwd: REPO_ROOT, env: emulatorEnv(endpoint), timeoutMs: 60_000 });
  return { via: 'bin', argv, code: r.code, stdout: r.stdout, stderr: r.stderr, startedAt: r.startedAt, endedAt: r.endedAt };
}

/**
 * Holds the tool at its first S3 `PutObject` of one key, before the request is sent:
 * for `restore`, the write of the state, which it makes holding the state's lock, after
 * it has read the versions. `reached` resolves when the tool gets there; it waits
 * until `release()`.
 */
export class StateWriteGate {
  /** Resolves when the tool is about to write `key`. */
  readonly reached: Promise<void>;
  private arrive!: () => void;
  private open!: () => void;
  private readonly opened: Promise<void>;
  private used = false;

  constructor(readonly bucket: string, readonly key: string) {
    this.reached = new Promise((r) => { this.arrive = r; });
    this.opened = new Promise((r) => { this.open = r; });
  }

  /** Lets the held write (and every later one) through. */
  release(): void {
    this.open();
  }

  /** Adds the hold to an S3 client. */
  attach(s3: S3Client): void {
    s3.middlewareStack.add((next, context) => async (args) => {
      const input = args.input as { Bucket?: string; Key?: string };
      if (!this.used && context.commandName === 'PutObjectCommand' && input.Bucket === this.bucket && input.Key === this.key) {
        this.used = true;
        this.arrive();
        await this.opened;
      }
      return next(args);
    }, { step: 'initialize', name: 'e2eStateWriteGate' });
  }
}

/** The tool's clients for the emulator at `endpoint`, as the SDK would make them from AWS_ENDPOINT_URL. */
class EmulatorClientFactory implements ClientFactory {
  private readonly made: Array<{ destroy(): void }> = [];
  constructor(private readonly endpoint: string, private readonly gate?: StateWriteGate) {}

  private common(options: ClientOptions) {
    // An assumed role's credentials (several backends at once) take the place of the caller's.
    return { endpoint: this.endpoint, region: options.region ?? E2E_REGION, credentials: options.credentials ?? { accessKeyId: 'e2e', secretAccessKey: 'e2e' } };
  }

  s3(options: ClientOptions): S3Client {
    const c = new S3Client({ ...this.common(options), forcePathStyle: options.forcePathStyle });
    this.gate?.attach(c);
    return this.keep(c);
  }

  dynamodb(options: ClientOptions): DynamoDBClient {
    return this.keep(new DynamoDBClient(this.common(options)));
  }

  ssm(options: ClientOptions): SSMClient {
    return this.keep(new SSMClient(this.common(options)));
  }

  sts(options: ClientOptions): STSClient {
    return this.keep(new STSClient(this.common(options)));
  }

  organizations(options: ClientOptions): OrganizationsClient {
    return this.keep(new OrganizationsClient(this.common(options)));
  }

  /** Keeps a client made here, for destroy(). */
  private keep<T extends { destroy(): void }>(c: T): T {
    this.made.push(c);
    return c;
  }

  destroy(): void {
    for (const c of this.made) c.destroy();
  }
}

export interface InProcessOptions {
  readonly endpoint: string;
  /** `user@host` for the locks the tool takes (default `oncall@e2e`). */
  readonly who?: string;
  /** The tool's clock (default: the real one). */
  readonly now?: () => Date;
  readonly gate?: StateWriteGate;
}

/** The `who` of in-process runs unless a test gives another. */
export const IN_PROCESS_WHO = 'oncall@e2e';

/** `main(argv, io)` in this process against the emulator. */
export async function tfstateOps(argv: readonly string[], options: InProcessOptions): Promise<ToolRun> {
  const clients = new EmulatorClientFactory(options.endpoint, options.gate);
  let stdout = '';
  let stderr = '';
  const startedAt = Date.now();
  try {
    const code = await main(argv, {
      stdout: (t) => { stdout += t; },
      stderr: (t) => { stderr += t; },
      env: emulatorEnv(options.endpoint),
      now: options.now ?? (() => new Date()),
      readFile: (f) => fs.readFileSync(f, 'utf8'),
      who: options.who ?? IN_PROCESS_WHO,
      clients,
    });
    return { via: 'main', argv, code, stdout, stderr, startedAt, endedAt: Date.now() };
  } finally {
    clients.destroy();
  }
}
