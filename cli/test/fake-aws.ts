/**
 * In-memory S3 and DynamoDB with the semantics tfstate-ops relies on: object versions and
 * delete markers, conditional writes and deletes (If-None-Match: *, If-Match: <ETag>,
 * ConditionExpression), pagination, and AWS's error names and HTTP statuses. A condition
 * expression the fake does not know fails the test instead of being ignored.
 *
 * `before` hooks run before a command is applied, so a test can make "someone else" act
 * between the tool's read and its write.
 */
import { createHash } from 'crypto';
import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { ListAccountsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { ClientFactory } from '../src/aws';

/** An error shaped like the SDK's service exceptions. */
export function awsFault(name: string, status: number, message = name): Error {
  const e = new Error(message) as Error & { $metadata: { httpStatusCode: number }; $fault: string };
  e.name = name;
  e.$metadata = { httpStatusCode: status };
  e.$fault = 'client';
  return e;
}

export interface SentCommand {
  readonly name: string;
  readonly input: Record<string, any>;
}

type Hook = (cmd: SentCommand) => void | Promise<void>;

/** An IAM allow: an action on a resource (an ARN, or a table name; `*` matches anything). */
export interface Allow {
  readonly action: string;
  readonly resource: string;
}

/** The IAM action and resource a command is authorized as (as AWS documents it for each API). */
export interface Authorized {
  readonly action: string;
  readonly resource: string;
}

function matches(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(value);
}

abstract class FakeClient {
  public readonly sent: SentCommand[] = [];
  /** Every action the client was asked for, allowed or not, with its resource. */
  public readonly authorized: Authorized[] = [];
  private readonly hooks: Array<{ name: string; once: boolean; fn: Hook }> = [];
  /** The caller's policy: undefined, everything is allowed; otherwise only these. */
  private policy?: Allow[];

  /** From now on the caller may do only this (an identity policy of Allow statements). */
  allowOnly(allows: readonly Allow[]): void {
    this.policy = [...allows];
  }

  /** Whether the caller's policy allows `action` on `resource`. */
  allows(action: string, resource: string): boolean {
    return this.policy === undefined || this.policy.some((a) => matches(a.action, action) && matches(a.resource, resource));
  }

  /** Records the authorization of a command, and refuses it as the service would when the policy does not allow it. */
  protected authorize(action: string, resource: string, refuse: () => Error): void {
    this.authorized.push({ action, resource });
    if (!this.allows(action, resource)) throw refuse();
  }

  /** Runs `fn` before the next (or every) command called `name` (e.g. 'DeleteObjectCommand'). */
  before(name: string, fn: Hook, options: { once?: boolean } = {}): void {
    this.hooks.push({ name, once: options.once ?? true, fn });
  }

  async send(cmd: { constructor: { name: string }; input: Record<string, any> }): Promise<any> {
    const sent = { name: cmd.constructor.name, input: cmd.input };
    this.sent.push(sent);
    for (const h of [...this.hooks]) {
      if (h.name === sent.name) {
        if (h.once) this.hooks.splice(this.hooks.indexOf(h), 1);
        await h.fn(sent);
      }
    }
    return this.apply(cmd);
  }

  /** The commands of one kind sent so far. */
  calls(name: string): SentCommand[] {
    return this.sent.filter((c) => c.name === name);
  }

  protected abstract apply(cmd: unknown): Promise<any>;
}

export interface ObjectVersion {
  readonly versionId: string;
  /** undefined: a delete marker. */
  readonly body?: Buffer;
  readonly etag?: string;
  readonly lastModified: Date;
  readonly sse?: string;
  readonly kmsKeyId?: string;
  readonly contentType?: string;
}

export class FakeS3 extends FakeClient {
  /** bucket -> key -> versions, oldest first. */
  public readonly buckets = new Map<string, Map<string, ObjectVersion[]>>();
  /** Page size of the listings (S3's is 1000). */
  public pageSize = 1000;
  /**
   * Whether the caller's s3:ListBucket makes S3 answer 404 for a missing key. False
   * models a ListBucket allowed only under an `s3:prefix` condition: listings are
   * allowed, but a GET of a missing key (which has no prefix) answers 403.
   */
  public listBucketCoversMissingKeys = true;
  /** A bucket policy's explicit deny of s3:DeleteObjectVersion on some keys (default: none). */
  public denyVersionDeletion: (key: string) => boolean = () => false;
  private clock = Date.UTC(2026, 10, 26, 9, 0, 0);
  private nextVersion = 1;

  constructor(...buckets: string[]) {
    super();
    for (const b of buckets) this.buckets.set(b, new Map());
  }

  /** Writes a version as another client would (no conditions), returns its version ID. */
  put(bucket: string, key: string, body: string | Buffer, extra: Partial<ObjectVersion> = {}): string {
    return this.store(bucket, key, Buffer.from(body), extra).versionId;
  }

  /** Deletes a key as another client would (a delete marker), returns the marker's version ID. */
  remove(bucket: string, key: string): string {
    return this.store(bucket, key, undefined).versionId;
  }

  /** The current version of a key (undefined when none, or a delete marker). */
  current(bucket: string, key: string): ObjectVersion | undefined {
    const versions = this.buckets.get(bucket)?.get(key) ?? [];
    const last = versions[versions.length - 1];
    return last?.body ? last : undefined;
  }

  versionsOf(bucket: string, key: string): ObjectVersion[] {
    return this.buckets.get(bucket)?.get(key) ?? [];
  }

  private objects(bucket: string): Map<string, ObjectVersion[]> {
    const b = this.buckets.get(bucket);
    if (!b) throw awsFault('NoSuchBucket', 404, 'The specified bucket does not exist');
    return b;
  }

  private store(bucket: string, key: string, body: Buffer | undefined, extra: Partial<ObjectVersion> = {}): ObjectVersion {
    const objects = this.objects(bucket);
    this.clock += 1000;
    const v: ObjectVersion = {
      versionId: `v${String(this.nextVersion++).padStart(4, '0')}`,
      body,
      etag: body ? `"${createHash('md5').update(body).digest('hex')}"` : undefined,
      lastModified: new Date(this.clock),
      ...extra,
    };
    objects.set(key, [...(objects.get(key) ?? []), v]);
    return v;
  }

  /** S3's refusal (a plain "Access Denied", as S3 answers a request it does not explain). */
  private static denied(): Error {
    return awsFault('AccessDenied', 403, 'Access Denied');
  }

  private authorizeS3(action: string, bucket: string, key?: string): void {
    this.authorize(action, key === undefined ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/${key}`, FakeS3.denied);
  }

  /**
   * "If the object you request doesn't exist, the error that Amazon S3 returns depends on
   * whether you also have the s3:ListBucket permission": 404 with it, 403 without
   * (GetObject/HeadObject, S3 API reference).
   */
  private missing(bucket: string, fault: Error): Error {
    return this.listBucketCoversMissingKeys && this.allows('s3:ListBucket', `arn:aws:s3:::${bucket}`) ? fault : FakeS3.denied();
  }

  protected async apply(cmd: unknown): Promise<any> {
    if (cmd instanceof GetObjectCommand) {
      const { Bucket, Key, VersionId } = cmd.input;
      this.authorizeS3(VersionId ? 's3:GetObjectVersion' : 's3:GetObject', Bucket!, Key!);
      const versions = this.objects(Bucket!).get(Key!) ?? [];
      let v: ObjectVersion | undefined;
      if (VersionId) {
        v = versions.find((x) => x.versionId === VersionId);
        if (!v) throw this.missing(Bucket!, awsFault('NoSuchVersion', 404, 'The specified version does not exist.'));
        if (!v.body) throw awsFault('MethodNotAllowed', 405, 'The specified method is not allowed against this resource.');
      } else {
        v = this.current(Bucket!, Key!);
        if (!v) throw this.missing(Bucket!, awsFault('NoSuchKey', 404, 'The specified key does not exist.'));
      }
      const body = v.body!;
      return {
        Body: { transformToByteArray: async () => new Uint8Array(body) },
        ETag: v.etag, VersionId: v.versionId, LastModified: v.lastModified, ContentLength: body.length,
      };
    }
    if (cmd instanceof PutObjectCommand) {
      const { Bucket, Key, Body, IfMatch, IfNoneMatch, ServerSideEncryption, SSEKMSKeyId, ContentType } = cmd.input;
      this.authorizeS3('s3:PutObject', Bucket!, Key!);
      const current = this.current(Bucket!, Key!);
      if (IfNoneMatch !== undefined) {
        if (IfNoneMatch !== '*') throw new Error(`fake S3: If-None-Match ${IfNoneMatch} not supported`);
        if (current) throw awsFault('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold');
      }
      if (IfMatch !== undefined) {
        if (!current) throw awsFault('NoSuchKey', 404, 'The specified key does not exist.');
        if (IfMatch !== current.etag) throw awsFault('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold');
      }
      const v = this.store(Bucket!, Key!, Buffer.from(Body as string | Uint8Array), {
        sse: ServerSideEncryption, kmsKeyId: SSEKMSKeyId, contentType: ContentType,
      });
      return { ETag: v.etag, VersionId: v.versionId };
    }
    if (cmd instanceof DeleteObjectCommand) {
      const { Bucket, Key, IfMatch, VersionId } = cmd.input;
      if (VersionId) throw new Error('fake S3: tfstate-ops never deletes a version');
      this.authorizeS3('s3:DeleteObject', Bucket!, Key!);
      // A conditional delete (If-Match) also needs s3:GetObject (S3 API reference, DeleteObject).
      if (IfMatch !== undefined) this.authorizeS3('s3:GetObject', Bucket!, Key!);
      const current = this.current(Bucket!, Key!);
      if (IfMatch !== undefined) {
        if (!current) throw awsFault('NoSuchKey', 404, 'The specified key does not exist.');
        if (IfMatch !== '*' && IfMatch !== current.etag) throw awsFault('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold');
      }
      if (current) {
        const marker = this.store(Bucket!, Key!, undefined);
        return { DeleteMarker: true, VersionId: marker.versionId };
      }
      return {};
    }
    if (cmd instanceof DeleteObjectsCommand) {
      // Each key is authorized on its own (s3:DeleteObjectVersion with a VersionId) and refused in Errors, as S3 does.
      const { Bucket, Delete } = cmd.input;
      const objects = this.objects(Bucket!);
      const Deleted: any[] = [];
      const Errors: any[] = [];
      for (const { Key, VersionId } of Delete!.Objects!) {
        if (!VersionId) throw new Error('fake S3: tfstate-ops deletes versions only by VersionId');
        const resource = `arn:aws:s3:::${Bucket}/${Key}`;
        this.authorized.push({ action: 's3:DeleteObjectVersion', resource });
        if (!this.allows('s3:DeleteObjectVersion', resource) || this.denyVersionDeletion(Key!)) {
          Errors.push({ Key, VersionId, Code: 'AccessDenied', Message: 'Access Denied' });
          continue;
        }
        const versions = objects.get(Key!) ?? [];
        const v = versions.find((x) => x.versionId === VersionId);
        objects.set(Key!, versions.filter((x) => x !== v));
        // S3 answers a version that does not exist (any more) as deleted.
        Deleted.push({ Key, VersionId, ...(v && !v.body ? { DeleteMarker: true, DeleteMarkerVersionId: VersionId } : {}) });
      }
      return { Deleted, Errors };
    }
    if (cmd instanceof ListObjectsV2Command) {
      const { Bucket, Prefix = '', ContinuationToken, MaxKeys } = cmd.input;
      this.authorizeS3('s3:ListBucket', Bucket!);
      const pageSize = MaxKeys ?? this.pageSize;
      const keys = [...this.objects(Bucket!).keys()].filter((k) => k.startsWith(Prefix) && this.current(Bucket!, k)).sort();
      const start = ContinuationToken ? Number(ContinuationToken) : 0;
      const page = keys.slice(start, start + pageSize);
      const more = start + pageSize < keys.length;
      return {
        Contents: page.map((k) => ({ Key: k, Size: this.current(Bucket!, k)!.body!.length })),
        IsTruncated: more,
        NextContinuationToken: more ? String(start + pageSize) : undefined,
      };
    }
    if (cmd instanceof ListObjectVersionsCommand) {
      const { Bucket, Prefix = '', KeyMarker, VersionIdMarker } = cmd.input;
      this.authorizeS3('s3:ListBucketVersions', Bucket!);
      // S3 order: keys ascending, each key's versions newest first.
      const all = [...this.objects(Bucket!).entries()].filter(([k]) => k.startsWith(Prefix)).sort(([a], [b]) => (a < b ? -1 : 1))
        .flatMap(([k, vs]) => [...vs].reverse().map((v, i) => ({ key: k, v, latest: i === 0 })));
      let start = 0;
      if (KeyMarker !== undefined) {
        start = all.findIndex((e) => e.key === KeyMarker && e.v.versionId === VersionIdMarker) + 1;
      }
      const page = all.slice(start, start + this.pageSize);
      const more = start + this.pageSize < all.length;
      const last = page[page.length - 1];
      return {
        Versions: page.filter((e) => e.v.body).map((e) => ({
          Key: e.key, VersionId: e.v.versionId, IsLatest: e.latest, LastModified: e.v.lastModified, Size: e.v.body!.length, ETag: e.v.etag,
        })),
        DeleteMarkers: page.filter((e) => !e.v.body).map((e) => ({
          Key: e.key, VersionId: e.v.versionId, IsLatest: e.latest, LastModified: e.v.lastModified,
        })),
        IsTruncated: more,
        NextKeyMarker: more ? last.key : undefined,
        NextVersionIdMarker: more ? last.v.versionId : undefined,
      };
    }
    throw new Error(`fake S3: ${(cmd as object).constructor.name} not emulated`);
  }
}

type Item = Record<string, { S?: string }>;

export class FakeDynamoDB extends FakeClient {
  public readonly tables = new Map<string, Map<string, Item>>();
  /** Items per Scan page (DynamoDB's limit is 1 MB). */
  public pageSize = 100;

  constructor(...tables: string[]) {
    super();
    for (const t of tables) this.tables.set(t, new Map());
  }

  item(table: string, lockId: string): Item | undefined {
    return this.tables.get(table)?.get(lockId);
  }

  putRaw(table: string, item: Item): void {
    this.table(table).set(item.LockID.S!, item);
  }

  /** Deletes an item as another client would (no condition). */
  deleteRaw(table: string, lockId: string): void {
    this.table(table).delete(lockId);
  }

  private table(name: string): Map<string, Item> {
    const t = this.tables.get(name);
    if (!t) throw awsFault('ResourceNotFoundException', 400, 'Requested resource not found');
    return t;
  }

  private check(expression: string | undefined, values: Record<string, { S?: string }> | undefined, existing: Item | undefined): void {
    if (expression === undefined) return;
    let ok: boolean;
    if (expression === 'attribute_not_exists(LockID)') {
      ok = existing === undefined;
    } else if (expression === 'Info = :info') {
      ok = existing?.Info?.S !== undefined && existing.Info.S === values?.[':info']?.S;
    } else if (expression === 'Digest = :old') {
      ok = existing?.Digest?.S !== undefined && existing.Digest.S === values?.[':old']?.S;
    } else {
      throw new Error(`fake DynamoDB: condition ${expression} not emulated`);
    }
    if (!ok) throw awsFault('ConditionalCheckFailedException', 400, 'The conditional request failed');
  }

  /** DynamoDB's refusal, which names the action and the resource. */
  private authorizeTable(action: string, table: string): void {
    this.authorize(action, table, () => awsFault('AccessDeniedException', 400, 'User: arn:aws:iam::123456789012:user/oncall is not authorized to perform: '
    + `${action} on resource: arn:aws:dynamodb:eu-west-1:123456789012:table/${table} because no identity-based policy allows the ${action} action`));
  }

  protected async apply(cmd: unknown): Promise<any> {
    const table = (cmd as { input: { TableName?: string } }).input.TableName!;
    const name = (cmd as object).constructor.name.replace(/Command$/, '');
    this.authorizeTable(`dynamodb:${name}`, table);
    if (cmd instanceof GetItemCommand) {
      const { TableName, Key } = cmd.input;
      const item = this.table(TableName!).get(Key!.LockID.S!);
      return { Item: item ? JSON.parse(JSON.stringify(item)) : undefined };
    }
    if (cmd instanceof PutItemCommand) {
      const { TableName, Item: item, ConditionExpression, ExpressionAttributeValues } = cmd.input;
      const t = this.table(TableName!);
      this.check(ConditionExpression, ExpressionAttributeValues as any, t.get(item!.LockID.S!));
      t.set(item!.LockID.S!, JSON.parse(JSON.stringify(item)));
      return {};
    }
    if (cmd instanceof DeleteItemCommand) {
      const { TableName, Key, ConditionExpression, ExpressionAttributeValues } = cmd.input;
      const t = this.table(TableName!);
      this.check(ConditionExpression, ExpressionAttributeValues as any, t.get(Key!.LockID.S!));
      t.delete(Key!.LockID.S!);
      return {};
    }
    if (cmd instanceof ScanCommand) {
      const { TableName, FilterExpression, ExpressionAttributeValues, ExclusiveStartKey } = cmd.input;
      if (FilterExpression !== undefined && FilterExpression !== 'begins_with(LockID, :prefix)') {
        throw new Error(`fake DynamoDB: filter ${FilterExpression} not emulated`);
      }
      const items = [...this.table(TableName!).values()].sort((a, b) => (a.LockID.S! < b.LockID.S! ? -1 : 1));
      const start = ExclusiveStartKey ? items.findIndex((i) => i.LockID.S === ExclusiveStartKey.LockID.S) + 1 : 0;
      const page = items.slice(start, start + this.pageSize);
      const more = start + this.pageSize < items.length;
      const prefix = (ExpressionAttributeValues as any)?.[':prefix']?.S;
      return {
        Items: page.filter((i) => prefix === undefined || i.LockID.S!.startsWith(prefix)).map((i) => JSON.parse(JSON.stringify(i))),
        LastEvaluatedKey: more ? { LockID: page[page.length - 1].LockID } : undefined,
      };
    }
    throw new Error(`fake DynamoDB: ${(cmd as object).constructor.name} not emulated`);
  }
}

export class FakeSSM extends FakeClient {
  public readonly parameters = new Map<string, string>();

  protected async apply(cmd: unknown): Promise<any> {
    if (cmd instanceof GetParametersCommand) {
      const names = cmd.input.Names ?? [];
      return {
        Parameters: names.filter((n) => this.parameters.has(n)).map((n) => ({ Name: n, Value: this.parameters.get(n) })),
        InvalidParameters: names.filter((n) => !this.parameters.has(n)),
      };
    }
    throw new Error(`fake SSM: ${(cmd as object).constructor.name} not emulated`);
  }
}

/** STS: AssumeRole of the roles in `trusted` only (others: AccessDenied, as STS answers). */
export class FakeSTS extends FakeClient {
  public readonly trusted = new Set<string>();

  protected async apply(cmd: unknown): Promise<any> {
    if (cmd instanceof AssumeRoleCommand) {
      const arn = cmd.input.RoleArn!;
      if (!this.trusted.has(arn)) {
        throw awsFault('AccessDenied', 403, `User: arn:aws:iam::999999999999:user/oncall is not authorized to perform: sts:AssumeRole on resource: ${arn}`);
      }
      const account = /^arn:aws:iam::(\d{12}):/.exec(arn)![1];
      return { Credentials: { AccessKeyId: `ASIA${account}`, SecretAccessKey: 'secret', SessionToken: 'token', Expiration: new Date('2026-11-26T13:00:00Z') } };
    }
    throw new Error(`fake STS: ${(cmd as object).constructor.name} not emulated`);
  }
}

/** Organizations: ListAccounts, two a page. */
export class FakeOrganizations extends FakeClient {
  public accounts: Array<{ Id: string; Status?: string; State?: string }> = [];

  protected async apply(cmd: unknown): Promise<any> {
    if (cmd instanceof ListAccountsCommand) {
      const start = Number(cmd.input.NextToken ?? 0);
      const page = this.accounts.slice(start, start + 2);
      return { Accounts: page, NextToken: start + 2 < this.accounts.length ? String(start + 2) : undefined };
    }
    throw new Error(`fake Organizations: ${(cmd as object).constructor.name} not emulated`);
  }
}

/**
 * Several accounts: each account's own fake AWS, reached with the credentials STS gave for
 * it (AccessKeyId ASIA<account>); without credentials, the caller's account `home`.
 */
export function fakeFleet(
  accounts: Record<string, FakeAws>, home: FakeAws,
): { clients: ClientFactory; sts: FakeSTS; organizations: FakeOrganizations } {
  const sts = new FakeSTS();
  const organizations = new FakeOrganizations();
  const of = (o: { credentials?: { accessKeyId: string } }) => (o.credentials ? accounts[o.credentials.accessKeyId.replace(/^ASIA/, '')] : home);
  const clients: ClientFactory = {
    s3: (o) => of(o).clients.s3(o),
    dynamodb: (o) => of(o).clients.dynamodb(o),
    ssm: (o) => of(o).clients.ssm(o),
    sts: () => sts as unknown as STSClient,
    organizations: () => organizations as unknown as OrganizationsClient,
  };
  return { clients, sts, organizations };
}

export interface FakeAws {
  readonly s3: FakeS3;
  readonly dynamodb: FakeDynamoDB;
  readonly ssm: FakeSSM;
  readonly clients: ClientFactory;
  /** The options each client was made with. */
  readonly made: Array<{ service: string; options: unknown }>;
}

export function fakeAws(options: { buckets?: string[]; tables?: string[] } = {}): FakeAws {
  const s3 = new FakeS3(...(options.buckets ?? ['state-bucket']));
  const dynamodb = new FakeDynamoDB(...(options.tables ?? ['terraform-lock']));
  const ssm = new FakeSSM();
  const made: FakeAws['made'] = [];
  const clients: ClientFactory = {
    s3: (o) => { made.push({ service: 's3', options: o }); return s3 as unknown as S3Client; },
    dynamodb: (o) => { made.push({ service: 'dynamodb', options: o }); return dynamodb as unknown as DynamoDBClient; },
    ssm: (o) => { made.push({ service: 'ssm', options: o }); return ssm as unknown as SSMClient; },
    sts: () => { throw new Error('fake AWS: STS is in fakeFleet'); },
    organizations: () => { throw new Error('fake AWS: Organizations is in fakeFleet'); },
  };
  return { s3, dynamodb, ssm, clients, made };
}
