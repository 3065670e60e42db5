/**
 * A DynamoDB state-lock client that speaks exactly what Terraform's and
 * OpenTofu's `s3` backend write and read (internal/backend/remote-state/s3/client.go,
 * internal/states/statemgr/locker.go). Test support code only.
 */
import { randomUUID } from 'crypto';
import {
  DeleteItemCommand,
  DeleteItemCommandInput,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';

// Go's encoding of statemgr.LockInfo: one implementation, shared with the tfstate-ops CLI.
import { formatGoTime, LockInfo, marshalLockInfo, normalizeGoTime, unmarshalLockInfo } from '../../cli/src/lock-info';
export { formatGoTime, goJsonString, LockInfo, marshalLockInfo, normalizeGoTime, unmarshalLockInfo } from '../../cli/src/lock-info';

/** A client for DynamoDB Local: same credentials and region everywhere, so all see one database. */
export function localClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

// ---------------------------------------------------------------------------
// Go time.Time as String()
// ---------------------------------------------------------------------------

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Go's time.Time.String() of a Created value, as Terraform prints it in "Lock Info". */
export function goTimeString(created: string): string {
  const m = RFC3339.exec(normalizeGoTime(created))!;
  const [, y, mo, d, h, mi, sec, frac, zone] = m;
  const zoneText = zone === 'Z' ? '+0000 UTC' : `${zone.replace(':', '')} ${zone.replace(':', '')}`;
  return `${y}-${mo}-${d} ${h}:${mi}:${sec}${frac ? `.${frac}` : ''} ${zoneText}`;
}

/** time.Now().UTC() with nanosecond digits (sub-millisecond part from the monotonic clock). */
export function goNow(): string {
  return formatGoTime(Date.now(), Number(process.hrtime.bigint() % 1_000_000n));
}

export interface NewLockInfoOptions {
  readonly operation?: string;
  readonly info?: string;
  readonly who?: string;
  readonly version?: string;
  readonly created?: string;
  readonly id?: string;
}

/** statemgr.NewLockInfo() plus the Operation/Info a Terraform command sets. */
export function newLockInfo(opts: NewLockInfoOptions = {}): LockInfo {
  return {
    ID: opts.id ?? randomUUID(),
    Operation: opts.operation ?? 'OperationTypeApply',
    Info: opts.info ?? '',
    Who: opts.who ?? 'runner@ci',
    Version: opts.version ?? '1.9.8',
    Created: opts.created ?? goNow(),
    Path: '',
  };
}

/** statemgr.LockInfo.String() */
export function lockInfoString(info: LockInfo): string {
  return [
    'Lock Info:',
    `  ID:        ${info.ID}`,
    `  Path:      ${info.Path}`,
    `  Operation: ${info.Operation}`,
    `  Who:       ${info.Who}`,
    `  Version:   ${info.Version}`,
    `  Created:   ${goTimeString(info.Created)}`,
    `  Info:      ${info.Info}`,
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/** statemgr.LockError: the cause plus the holder's LockInfo when it could be read. */
export class LockError extends Error {
  constructor(public readonly err: Error, public readonly info?: LockInfo) {
    super(['Error acquiring the state lock', '', `Error message: ${err.message}`, ...(info ? [lockInfoString(info)] : [])].join('\n'));
    this.name = 'LockError';
  }

  /** LockWithContext retries only when the holder's ID could be read. */
  get retriable(): boolean {
    return !!this.info && this.info.ID !== '';
  }
}

/** Raised by unlock/forceUnlock (Terraform prints it as "Error releasing the state lock"). */
export class UnlockError extends Error {
  constructor(public readonly err: Error, public readonly info?: LockInfo) {
    super(['Error releasing the state lock', '', `Error message: ${err.message}`, ...(info ? [lockInfoString(info)] : [])].join('\n'));
    this.name = 'UnlockError';
  }
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

function describeAwsError(e: unknown): Error {
  const err = asError(e);
  return new Error(err.name && err.name !== 'Error' ? `${err.name}: ${err.message}` : err.message);
}

// ---------------------------------------------------------------------------
// LockWithContext: Terraform's retry schedule
// ---------------------------------------------------------------------------

export interface RetryOptions {
  /** What Terraform's one second is; default 1000 ms. */
  readonly unitMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  /** Extra wait added to each sleep (tests only, to de-synchronise many waiters). Not Terraform. */
  readonly jitterMs?: () => number;
  /** Called before each wait with the wait that Terraform's schedule asks for. */
  readonly onWait?: (delayMs: number) => void;
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * statemgr.LockWithContext under context.WithTimeout(timeoutMs): try; on a retriable
 * LockError wait 1, 2, 4, 8, 16, 16, ... units, giving up with the last LockError
 * once the deadline passes during a wait. Timeout 0 means exactly one try.
 */
export async function lockWithContext(tryLock: () => Promise<string>, timeoutMs: number, opts: RetryOptions = {}): Promise<string> {
  const unit = opts.unitMs ?? 1000;
  const sleep = opts.sleep ?? realSleep;
  const now = opts.now ?? Date.now;
  const maxDelay = 16 * unit;
  const deadline = now() + timeoutMs;
  let delay = unit;
  for (;;) {
    let err: unknown;
    try {
      return await tryLock();
    } catch (e) {
      err = e;
    }
    if (!(err instanceof LockError) || !err.retriable) {
      throw err;
    }
    const remaining = deadline - now();
    if (remaining <= 0) {
      throw err;
    }
    opts.onWait?.(delay);
    if (delay >= remaining) {
      // ctx.Done() fires before time.After(delay)
      await sleep(remaining);
      throw err;
    }
    await sleep(delay + (opts.jitterMs?.() ?? 0));
    if (delay < maxDelay) {
      delay *= 2;
    }
  }
}

// ---------------------------------------------------------------------------
// The client (one per state, like the backend's RemoteClient)
// ---------------------------------------------------------------------------

/** Terraform deletes unconditionally; OpenTofu 1.10+ deletes with `Info = :info`. */
export type UnlockStyle = 'terraform' | 'opentofu';

export interface TerraformLockClientProps {
  readonly client: DynamoDBClient;
  readonly table: string;
  readonly bucket: string;
  /** backend `key`; default terraform.tfstate */
  readonly key?: string;
  /** default "default" */
  readonly workspace?: string;
  /** backend `workspace_key_prefix`; default "env:" */
  readonly workspaceKeyPrefix?: string;
  readonly unlockStyle?: UnlockStyle;
}

/** The state object's key: `<key>` for default, `<prefix>/<workspace>/<key>` otherwise. */
export function statePath(key: string, workspace = 'default', workspaceKeyPrefix = 'env:'): string {
  return workspace === 'default' ? key : `${workspaceKeyPrefix}/${workspace}/${key}`;
}

export class TerraformLockClient {
  public readonly statePath: string;
  public readonly unlockStyle: UnlockStyle;
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly bucket: string;

  constructor(props: TerraformLockClientProps) {
    this.client = props.client;
    this.table = props.table;
    this.bucket = props.bucket;
    this.statePath = statePath(props.key ?? 'terraform.tfstate', props.workspace, props.workspaceKeyPrefix);
    this.unlockStyle = props.unlockStyle ?? 'terraform';
  }

  /** The item key of the lock: `<bucket>/<state path>`. */
  get lockPath(): string {
    return `${this.bucket}/${this.statePath}`;
  }

  /** The item key of the state digest. */
  get digestPath(): string {
    return `${this.lockPath}-md5`;
  }

  /** RemoteClient.Lock: sets info.Path (and ID if empty) like Terraform, returns the lock ID. */
  async lock(info: LockInfo): Promise<string> {
    info.Path = this.lockPath;
    if (info.ID === '') {
      info.ID = randomUUID();
    }
    try {
      await this.client.send(new PutItemCommand({
        TableName: this.table,
        Item: { LockID: { S: this.lockPath }, Info: { S: marshalLockInfo(info) } },
        ConditionExpression: 'attribute_not_exists(LockID)',
      }));
    } catch (e) {
      let cause = describeAwsError(e);
      let holder: LockInfo | undefined;
      try {
        holder = await this.getLockInfo();
      } catch (infoErr) {
        cause = new Error(`${cause.message}\n${asError(infoErr).message}`);
      }
      throw new LockError(cause, holder);
    }
    return info.ID;
  }

  /** LockWithContext(ctx with timeout, this, info). */
  lockWithTimeout(info: LockInfo, timeoutMs: number, opts?: RetryOptions): Promise<string> {
    return lockWithContext(() => this.lock(info), timeoutMs, opts);
  }

  /** RemoteClient.Unlock in the chosen style. */
  async unlock(id: string): Promise<void> {
    let holder: LockInfo;
    try {
      holder = await this.getLockInfo();
    } catch (e) {
      throw new UnlockError(new Error(`failed to retrieve lock info for lock ID ${JSON.stringify(id)}: ${asError(e).message}`));
    }
    if (holder.ID !== id) {
      throw new UnlockError(new Error(`lock ID ${JSON.stringify(id)} does not match existing lock (${JSON.stringify(holder.ID)})`), holder);
    }
    const input: DeleteItemCommandInput = { TableName: this.table, Key: { LockID: { S: this.lockPath } } };
    if (this.unlockStyle === 'opentofu') {
      input.ConditionExpression = 'Info = :info';
      input.ExpressionAttributeValues = { ':info': { S: marshalLockInfo(holder) } };
    }
    try {
      await this.client.send(new DeleteItemCommand(input));
    } catch (e) {
      throw new UnlockError(describeAwsError(e), holder);
    }
  }

  /** `terraform force-unlock ID`: an unlock with a user-given ID. */
  forceUnlock(id: string): Promise<void> {
    return this.unlock(id);
  }

  /** The holder's LockInfo (GetItem, consistent read). */
  async getLockInfo(): Promise<LockInfo> {
    const out = await this.client.send(new GetItemCommand({
      TableName: this.table,
      Key: { LockID: { S: this.lockPath } },
      ProjectionExpression: 'LockID, Info',
      ConsistentRead: true,
    }));
    if (!out.Item) {
      throw new Error(`no lock info found for: ${JSON.stringify(this.lockPath)} within the DynamoDB table: ${this.table}`);
    }
    return unmarshalLockInfo(out.Item.Info?.S ?? '');
  }

  /**
   * RemoteClient.putMD5 after a state write (unconditional PutItem). Terraform only logs a
   * failed digest put; this throws so a test sees it.
   */
  async putDigest(md5hex: string): Promise<void> {
    if (!/^[0-9a-f]{32}$/.test(md5hex)) {
      throw new Error('invalid payload md5');
    }
    await this.client.send(new PutItemCommand({
      TableName: this.table,
      Item: { LockID: { S: this.digestPath }, Digest: { S: md5hex } },
    }));
  }

  /** RemoteClient.getMD5: the stored digest, or undefined when there is none (Terraform: "invalid md5"). */
  async getDigest(): Promise<string | undefined> {
    const out = await this.client.send(new GetItemCommand({
      TableName: this.table,
      Key: { LockID: { S: this.digestPath } },
      ProjectionExpression: 'LockID, Digest',
      ConsistentRead: true,
    }));
    const digest = out.Item?.Digest?.S;
    return digest !== undefined && /^[0-9a-fA-F]{32}$/.test(digest) ? digest.toLowerCase() : undefined;
  }
}
